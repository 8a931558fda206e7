// The in-process session store: one thread's cache (a single worker, tests, or a tier
// in front of Redis when shared memory is not wanted). A Map keeps insertion order, so
// its first entry is the oldest: that is the age list for free. Same policy as the
// shared store (shm-table.ts): an overwrite moves the entry to the newest end, an
// insert expires up to two stale entries from the old end and then evicts the oldest
// while full; expired entries stay until a lookup or the old end finds them; every
// value leaving the cache is zeroed, as the shared store zeroes its blocks.
import { emptyStats } from './store.ts';
import type { LookupResult, StoreEntryInfo, StoreOptions, StoreStats } from './store.ts';
import { DEFAULT_STORE_OPTIONS } from './store.ts';
import { SyncSessionStore } from './sync-store.ts';

const TIER = 'memory';
const EXPIRE_ON_INSERT = 2;

interface Entry {
  key: Buffer;
  value: Buffer;
  created: number;
  expires: number;
}

/** Map keys: latin1 maps each byte to one char, so any binary key is exact. */
function mapKey (key: Buffer): string {
  return key.toString('latin1');
}

export class MemoryStore extends SyncSessionStore {
  readonly tier = TIER;
  readonly #options: StoreOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #stats: StoreStats;

  constructor (options: Partial<StoreOptions> = {}) {
    super();
    this.#options = { ...DEFAULT_STORE_OPTIONS, ...options };
    this.#stats = emptyStats(TIER, this.#options.size);
  }

  getSync (key: Buffer): LookupResult {
    const stats = this.#stats;
    stats.lookups++;
    const id = mapKey(key);
    const entry = this.#entries.get(id);
    if (entry === undefined) {
      stats.misses++;
      return { tier: TIER, miss: 'unknown' };
    }
    const now = Date.now();
    if (entry.expires <= now) {
      this.#remove(id, entry);
      stats.misses++;
      stats.expired++;
      return { tier: TIER, miss: 'expired' };
    }
    stats.hits++;
    return { tier: TIER, value: Buffer.from(entry.value), ttl: entry.expires - now };
  }

  setSync (key: Buffer, value: Buffer, ttl = this.#options.lifetime): boolean {
    const { size, maxEntryBytes, maxKeyBytes } = this.#options;
    if (size <= 0 || !(ttl > 0)) return false;
    if (value.length > maxEntryBytes || key.length > maxKeyBytes) {
      this.#stats.oversize++;
      return false;
    }
    const id = mapKey(key);
    const old = this.#entries.get(id);
    if (old !== undefined) this.#remove(id, old);
    const now = Date.now();
    this.#expireOldest(now);
    while (this.#entries.size >= size) {
      const [oldestId, oldest] = this.#entries.entries().next().value as [string, Entry];
      this.#remove(oldestId, oldest);
      this.#stats.evictions++;
    }
    // Copies: the caller may reuse its buffers.
    this.#entries.set(id, { key: Buffer.from(key), value: Buffer.from(value), created: now, expires: now + ttl });
    this.#stats.bytes += key.length + value.length;
    this.#stats.stores++;
    return true;
  }

  deleteSync (key: Buffer): boolean {
    const id = mapKey(key);
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    this.#remove(id, entry);
    return true;
  }

  clearSync (): number {
    const count = this.#entries.size;
    for (const entry of this.#entries.values()) this.#zero(entry);
    this.#entries.clear();
    this.#stats.bytes = 0;
    return count;
  }





  listSync (limit: number): StoreEntryInfo[] {
    const now = Date.now();
    const all = [...this.#entries.values()];
    const out: StoreEntryInfo[] = [];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = all[i];
      if (entry.expires <= now) continue;
      out.push({ key: Buffer.from(entry.key), bytes: entry.value.length, age: now - entry.created, ttl: entry.expires - now });
    }
    return out;
  }

  stats (): StoreStats {
    return { ...this.#stats, entries: this.#entries.size };
  }

  override async close (): Promise<void> {
    this.clearSync();
  }

  #expireOldest (now: number): void {
    let n = 0;
    for (const [id, entry] of this.#entries) {
      if (n++ === EXPIRE_ON_INSERT || entry.expires > now) return;
      this.#remove(id, entry);
      this.#stats.expired++;
    }
  }

  #remove (id: string, entry: Entry): void {
    this.#entries.delete(id);
    this.#stats.bytes -= entry.key.length + entry.value.length;
    this.#zero(entry);
  }

  #zero (entry: Entry): void {
    entry.value.fill(0);
    entry.key.fill(0);
  }
}
