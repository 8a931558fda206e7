// The shared store's index, over the views of one buffer: a fixed array of entries, a
// hash index of buckets chaining entry numbers, a doubly linked age list (oldest at one
// end, newest at the other) and the block pool that holds keys and values. It carries
// out nginx's insert policy: expire up to two stale entries from the old end, then, if
// there is no room, evict the oldest until there is (an entry needs a free entry slot
// and enough free blocks; each eviction frees both, so this ends after at most
// `blocks needed` evictions; with fixed slots it would be "evict one and retry once").
//
// Every method runs under the store's lock. Each one that changes the structure marks
// the header DIRTY while it does, so whoever takes over the lock of a thread that died
// in the middle knows the links cannot be trusted and wipes the store (it is a cache).
// Counters are Atomics, so `stats()` reads them from any thread without the lock.
import { BlockPool } from './shm-blocks.ts';
import { blocksFor, C, E, ENTRY_FLOAT64S, ENTRY_INT32S, EXPIRES, H, NONE } from './shm-layout.ts';
import type { Layout, Views } from './shm-layout.ts';
import type { LookupResult, StoreEntryInfo } from './store.ts';

const TIER = 'shared';
const EXPIRE_ON_INSERT = 2;

export class ShmTable {
  readonly #header: Int32Array;
  readonly #counters: BigInt64Array;
  readonly #buckets: Int32Array;
  readonly #entries: Int32Array;
  readonly #times: Float64Array;
  readonly #pool: BlockPool;
  readonly #mask: number;
  readonly #seed: number;
  readonly #size: number;
  readonly #maxKey: number;
  readonly #maxValue: number;
  readonly #blockBytes: number;

  constructor (views: Views, layout: Layout) {
    this.#header = views.header;
    this.#counters = views.counters;
    this.#buckets = views.buckets;
    this.#entries = views.entries;
    this.#times = views.times;
    this.#pool = new BlockPool(views, layout.options.blockBytes);
    this.#mask = layout.bucketCount - 1;
    this.#seed = views.header[H.SEED];
    this.#size = layout.options.size;
    this.#maxKey = layout.options.maxKeyBytes;
    this.#maxValue = layout.options.maxEntryBytes;
    this.#blockBytes = layout.options.blockBytes;
  }

  /** Links a fresh (all-zero) buffer; also used to rebuild after `wipe`. */
  init (): void {
    const header = this.#header;
    this.#buckets.fill(NONE);
    const e = this.#entries;
    for (let i = 0; i < this.#size; i++) e[i * ENTRY_INT32S + E.NEXT] = i + 1 < this.#size ? i + 1 : NONE;
    header[H.FREE_ENTRY] = this.#size > 0 ? 0 : NONE;
    header[H.OLDEST] = NONE;
    header[H.NEWEST] = NONE;
    Atomics.store(header, H.ENTRIES, 0);
    this.#pool.init();
  }

  /** Drops everything, zeroing every byte of it; returns how many entries there were. */
  wipe (): number {
    const count = Atomics.load(this.#header, H.ENTRIES);
    this.#header[H.DIRTY] = 1;
    this.#pool.wipe();
    this.#entries.fill(0);
    this.init();
    this.#header[H.DIRTY] = 0;
    return count;
  }

  get dirty (): boolean {
    return this.#header[H.DIRTY] !== 0;
  }

  count (counter: number): void {
    Atomics.add(this.#counters, counter, 1n);
  }

  /** `lookups` is not counted apart: it is hits + misses (one atomic add per lookup, not two). */
  lookup (key: Buffer): LookupResult {
    const c = this.#counters;
    const i = key.length > this.#maxKey ? NONE : this.#find(key, this.#hash(key));
    if (i === NONE) {
      Atomics.add(c, C.MISSES, 1n);
      return { tier: TIER, miss: 'unknown' };
    }
    // The clock is read only when there is an entry to check (Date.now is not free).
    const now = Date.now();
    const expires = this.#times[i * ENTRY_FLOAT64S + EXPIRES];
    if (expires <= now) {
      this.#header[H.DIRTY] = 1;
      this.#remove(i);
      this.#header[H.DIRTY] = 0;
      Atomics.add(c, C.EXPIRED, 1n);
      Atomics.add(c, C.MISSES, 1n);
      return { tier: TIER, miss: 'expired' };
    }
    const at = i * ENTRY_INT32S;
    const e = this.#entries;
    const keyRun = e[at + E.KEY_RUN];
    const value = this.#pool.read(e[at + E.FIRST], keyRun >>> 16, keyRun & 0xffff, e[at + E.VALUE_LEN]);
    Atomics.add(c, C.HITS, 1n);
    return { value, tier: TIER, ttl: expires - now };
  }

  /** False when refused (oversize) or when there is no room at all. */
  store (key: Buffer, value: Buffer, ttl: number, now: number): boolean {
    if (this.#size === 0) return false;
    if (key.length > this.#maxKey || value.length > this.#maxValue) {
      this.count(C.OVERSIZE);
      return false;
    }
    const header = this.#header;
    const e = this.#entries;
    const need = blocksFor(key.length + value.length, this.#blockBytes);
    const hash = this.#hash(key);
    header[H.DIRTY] = 1;
    const old = this.#find(key, hash);
    if (old !== NONE) this.#remove(old);
    this.#expireOldest(now);
    while (header[H.FREE_ENTRY] === NONE || this.#pool.free < need) {
      const oldest = header[H.OLDEST];
      if (oldest === NONE) {
        header[H.DIRTY] = 0;
        this.count(C.ERRORS);
        return false;
      }
      this.#remove(oldest);
      this.count(C.EVICTIONS);
    }
    const i = header[H.FREE_ENTRY];
    const at = i * ENTRY_INT32S;
    header[H.FREE_ENTRY] = e[at + E.NEXT];
    const first = this.#pool.alloc(need);
    this.#pool.write(first, key, value);
    const bucket = hash & this.#mask;
    e[at + E.HASH] = hash;
    e[at + E.KEY_RUN] = key.length | (this.#pool.lastRun << 16);
    e[at + E.VALUE_LEN] = value.length;
    e[at + E.FIRST] = first;
    e[at + E.NEXT] = this.#buckets[bucket];
    this.#buckets[bucket] = i;
    e[at + E.TTL] = Math.min(ttl, 0x7fffffff);
    this.#times[i * ENTRY_FLOAT64S + EXPIRES] = now + ttl;
    // Append at the newest end.
    const newest = header[H.NEWEST];
    e[at + E.PREV_AGE] = newest;
    e[at + E.NEXT_AGE] = NONE;
    if (newest === NONE) header[H.OLDEST] = i;
    else e[newest * ENTRY_INT32S + E.NEXT_AGE] = i;
    header[H.NEWEST] = i;
    Atomics.add(header, H.ENTRIES, 1);
    header[H.DIRTY] = 0;
    this.count(C.STORES);
    return true;
  }

  delete (key: Buffer): boolean {
    const i = key.length > this.#maxKey ? NONE : this.#find(key, this.#hash(key));
    if (i === NONE) return false;
    this.#header[H.DIRTY] = 1;
    this.#remove(i);
    this.#header[H.DIRTY] = 0;
    return true;
  }

  /** Live entries, newest first. */
  list (limit: number, now: number): StoreEntryInfo[] {
    const out: StoreEntryInfo[] = [];
    const e = this.#entries;
    for (let i = this.#header[H.NEWEST]; i !== NONE && out.length < limit; i = e[i * ENTRY_INT32S + E.PREV_AGE]) {
      const expires = this.#times[i * ENTRY_FLOAT64S + EXPIRES];
      if (expires <= now) continue;
      const at = i * ENTRY_INT32S;
      out.push({
        key: this.#pool.read(e[at + E.FIRST], e[at + E.KEY_RUN] >>> 16, 0, e[at + E.KEY_RUN] & 0xffff),
        bytes: e[at + E.VALUE_LEN],
        age: Math.max(0, e[at + E.TTL] - (expires - now)),
        ttl: expires - now,
      });
    }
    return out;
  }

  #hash (key: Uint8Array): number {
    // FNV-1a with a per-buffer random seed, so nobody can aim keys at one bucket.
    let h = (this.#seed ^ 0x811c9dc5) | 0;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i], 0x01000193);
    return h;
  }

  #find (key: Buffer, hash: number): number {
    const e = this.#entries;
    for (let i = this.#buckets[hash & this.#mask]; i !== NONE; i = e[i * ENTRY_INT32S + E.NEXT]) {
      const at = i * ENTRY_INT32S;
      if (e[at + E.HASH] !== hash) continue;
      const keyRun = e[at + E.KEY_RUN];
      if ((keyRun & 0xffff) === key.length && this.#pool.startsWith(e[at + E.FIRST], keyRun >>> 16, key)) return i;
    }
    return NONE;
  }

  #expireOldest (now: number): void {
    for (let n = 0; n < EXPIRE_ON_INSERT; n++) {
      const oldest = this.#header[H.OLDEST];
      if (oldest === NONE || this.#times[oldest * ENTRY_FLOAT64S + EXPIRES] > now) return;
      this.#remove(oldest);
      this.count(C.EXPIRED);
    }
  }

  /** Unlinks entry `i` from its bucket and the age list, zeroes and frees its blocks. */
  #remove (i: number): void {
    const header = this.#header;
    const e = this.#entries;
    const at = i * ENTRY_INT32S;
    const bucket = e[at + E.HASH] & this.#mask;
    let j = this.#buckets[bucket];
    if (j === i) {
      this.#buckets[bucket] = e[at + E.NEXT];
    } else {
      while (e[j * ENTRY_INT32S + E.NEXT] !== i) j = e[j * ENTRY_INT32S + E.NEXT];
      e[j * ENTRY_INT32S + E.NEXT] = e[at + E.NEXT];
    }
    const prev = e[at + E.PREV_AGE];
    const next = e[at + E.NEXT_AGE];
    if (prev === NONE) header[H.OLDEST] = next;
    else e[prev * ENTRY_INT32S + E.NEXT_AGE] = next;
    if (next === NONE) header[H.NEWEST] = prev;
    else e[next * ENTRY_INT32S + E.PREV_AGE] = prev;
    this.#pool.release(e[at + E.FIRST]);
    e.fill(0, at, at + ENTRY_INT32S);
    e[at + E.NEXT] = header[H.FREE_ENTRY];
    header[H.FREE_ENTRY] = i;
    Atomics.sub(header, H.ENTRIES, 1);
  }
}
