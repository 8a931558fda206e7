// The pass-through stick table: session id / PSK identity / ticket key name -> server
// name, kept in a SessionStore handed in (one SharedMemoryStore per frontend shared by
// every worker thread, optionally in front of Redis), so a client that resumes lands on
// the backend holding its session whichever thread or node accepts it. Counts hits,
// misses and learned entries, and publishes each on `warmshake:stick`.
import { channels, type StickEvent, type StickKind } from '../diagnostics.ts';
import type { SessionStore } from '../session-cache/store.ts';
import { parseStickKey, type StickKey } from './stick-keys.ts';

export interface StickTableStats {
  entries: number;
  capacity: number;
  hits: number;
  misses: number;
  learned: number;
  /** Lookups the store could not answer (Redis timeout, breaker open). */
  errors: number;
}

/** One row of `show table`. */
export interface StickEntry {
  kind: StickKind;
  /** Hex of the first bytes of the identity (or of its SHA-256 when it was long). */
  key: string;
  server: string;
  /** ms since it was learned (or last confirmed) and ms it has left. */
  age: number;
  ttl: number;
}

export interface StickLookup {
  kind: StickKind;
  server: string;
  /** The key that matched, and ms it has left (undefined when the store does not say). */
  key: Buffer;
  ttl?: number;
}

const KEY_HEX_BYTES = 8;

export class StickTable {
  readonly frontend: string;
  #store: SessionStore;
  #expire: number;
  #hits = 0;
  #misses = 0;
  #learned = 0;
  #errors = 0;

  /** `expire`: ms an entry lives after it was last learned (persist.expire). */
  constructor (store: SessionStore, frontend: string, expire: number) {
    this.#store = store;
    this.frontend = frontend;
    this.#expire = expire;
  }

  /** The most precise key the table knows (all looked up at once: one round trip to Redis, not three). */
  async find (keys: readonly StickKey[]): Promise<StickLookup | { error: true } | undefined> {
    if (keys.length === 0) return undefined;
    const results = await Promise.all(keys.map((k) => this.#store.get(k.key)));
    for (let i = 0; i < keys.length; i++) {
      const value = results[i].value;
      if (value !== undefined) return { kind: keys[i].kind, server: value.toString('utf8'), key: keys[i].key, ttl: results[i].ttl };
    }
    if (results.some((r) => r.miss === 'timeout' || r.miss === 'error')) {
      this.#errors++;
      return { error: true };
    }
    return undefined;
  }

  hit (client: string, kind: StickKind, server: string): void {
    this.#hits++;
    this.#publish({ frontend: this.frontend, client, action: 'hit', kind, server });
  }

  miss (client: string, reason: NonNullable<StickEvent['reason']>, kind?: StickKind, server?: string): void {
    this.#misses++;
    this.#publish({ frontend: this.frontend, client, action: 'miss', reason, kind, server });
  }

  /** The entry was found with more than half its life left: refreshing it now would only cost a write (a Redis one too). */
  fresh (found: StickLookup): boolean {
    return found.ttl !== undefined && found.ttl > this.#expire / 2;
  }

  /** Writes (or refreshes) an entry in the background: learning never holds a connection up. */
  learn (client: string, key: StickKey, server: string, source: StickEvent['source']): void {
    this.#learned++;
    this.#store.set(key.key, Buffer.from(server, 'utf8'), this.#expire).catch(() => {});
    this.#publish({
      frontend: this.frontend, client, action: 'learn', kind: key.kind, server, source,
      key: key.key.subarray(2, 2 + KEY_HEX_BYTES).toString('hex'),
    });
  }

  /** Up to `limit` entries, newest first, for `show table`. */
  async list (limit: number): Promise<StickEntry[]> {
    const entries = await this.#store.list(limit);
    const rows: StickEntry[] = [];
    for (const e of entries) {
      const parsed = parseStickKey(e.key);
      if (!parsed) continue;
      const found = await this.#store.get(e.key);
      if (found.value === undefined) continue;
      rows.push({
        kind: parsed.kind, key: parsed.body.subarray(0, KEY_HEX_BYTES).toString('hex'),
        server: found.value.toString('utf8'), age: e.age, ttl: e.ttl,
      });
    }
    return rows;
  }

  stats (): StickTableStats {
    const s = this.#store.stats();
    return { entries: s.entries, capacity: s.capacity, hits: this.#hits, misses: this.#misses, learned: this.#learned, errors: this.#errors };
  }

  #publish (event: StickEvent): void {
    if (channels.stick.hasSubscribers) channels.stick.publish(event);
  }
}
