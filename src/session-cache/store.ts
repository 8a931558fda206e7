// The session store: a bounded, expiring map of opaque byte strings. It knows nothing
// of TLS (HAProxy keeps shctx.c apart from ssl_sock.c); the TLS glue decides what the
// key and the value are.

/** Why a lookup found nothing usable. */
export type MissReason = 'unknown' | 'expired' | 'timeout' | 'error';

export interface LookupResult {
  /** The stored bytes on a hit. */
  value?: Buffer;
  /** On a miss, why. */
  miss?: MissReason;
  /** Which tier answered (`memory`, `shared`, `redis`). */
  tier: string;
  /** Milliseconds the entry has left to live, on a hit. */
  ttl?: number;
}

export interface StoreEntryInfo {
  key: Buffer;
  bytes: number;
  /** Milliseconds since it was stored. */
  age: number;
  /** Milliseconds until it expires. */
  ttl: number;
}

/** A snapshot, safe to serialize (plain numbers). */
export interface StoreStats {
  tier: string;
  entries: number;
  capacity: number;
  /** Bytes of memory the store holds for its entries (shared memory: the whole segment). */
  bytes: number;
  lookups: number;
  hits: number;
  misses: number;
  expired: number;
  stores: number;
  evictions: number;
  /** Values refused because they were larger than the store's entry limit. */
  oversize: number;
  errors: number;
}

export interface SessionStore {
  readonly tier: string;
  get (key: Buffer): Promise<LookupResult>;
  /**
   * Stores a value for `ttl` ms (default: the store's lifetime). Resolves false when it
   * was not stored (too large, zero capacity, tier unavailable); never rejects.
   */
  set (key: Buffer, value: Buffer, ttl?: number): Promise<boolean>;
  delete (key: Buffer): Promise<boolean>;
  /** Removes every entry; resolves with how many there were. */
  clear (): Promise<number>;
  /** Up to `limit` live entries, newest first (for `show sessions`). */
  list (limit: number): Promise<StoreEntryInfo[]>;
  stats (): StoreStats;
  close (): Promise<void>;
}

export interface StoreOptions {
  /** Most entries kept; when full, the oldest goes first. */
  size: number;
  /** Default time to live in ms. */
  lifetime: number;
  /** Largest value kept, in bytes. */
  maxEntryBytes: number;
  /** Largest key, in bytes. */
  maxKeyBytes: number;
}

export const DEFAULT_STORE_OPTIONS: StoreOptions = Object.freeze({
  size: 100_000,
  lifetime: 300_000,
  maxEntryBytes: 2048,
  maxKeyBytes: 64,
});

export function emptyStats (tier: string, capacity = 0): StoreStats {
  return { tier, entries: 0, capacity, bytes: 0, lookups: 0, hits: 0, misses: 0, expired: 0, stores: 0, evictions: 0, oversize: 0, errors: 0 };
}
