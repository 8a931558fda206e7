// Where everything sits in the shared store's one SharedArrayBuffer. Pure arithmetic, so
// `warmshake check` can say how much memory a cache will take without allocating it.
//
// Why variable-length entries in small blocks (HAProxy shctx's block chains) and not
// one fixed slot per session: measured on Node 24 / OpenSSL 3, the server-side session
// OpenSSL hands to `newSession` is 158 bytes for TLS 1.2 and 162-163 bytes for TLS 1.3,
// with an ECDSA P-256 or an RSA-2048 certificate alike (the server's session holds no
// certificate of its own); with client authentication it carries the peer certificate
// and grows to ~550 bytes (P-256) or ~1 KB (RSA). warmshake's record adds frontend and
// SNI (~40 bytes) and the key is a 32-byte id, so a typical entry is 230-260 bytes.
// Slots of maxKeyBytes + maxEntryBytes (2 KB) would spend 2.1 KB on each: 210 MB for
// 100,000 sessions. With 64-byte blocks an entry takes ceil((key + value) / 64) blocks
// (4-5 for a typical one, ~10 with a client certificate), and the pool is provisioned
// for `averageEntryBytes` per session: 5 blocks of 64 bytes + 4 bytes of link each,
// a 40-byte entry and ~5 bytes of hash index make 385 bytes a session, 38.5 MB for
// 100,000. (Smaller blocks waste less per entry but add links and copies; 64 bytes
// also fits a 32-byte key in the first block, where a lookup compares it.) When sessions
// run larger than that average the pool fills before `size` entries do, and the oldest
// entries go first all the same (HAProxy counts its cache in such blocks too).
import { DEFAULT_STORE_OPTIONS } from './store.ts';
import type { StoreOptions } from './store.ts';

export interface SharedStoreOptions extends StoreOptions {
  /** Bytes in one data block; an entry (key + value) takes a chain of blocks. */
  blockBytes: number;
  /** Block space provisioned per session on average (key + value). */
  averageEntryBytes: number;
}

export const DEFAULT_SHARED_STORE_OPTIONS: SharedStoreOptions = Object.freeze({
  ...DEFAULT_STORE_OPTIONS,
  blockBytes: 64,
  averageEntryBytes: 320,
});

export const MAGIC = 0x57534843; // 'WSHC'
export const LAYOUT_VERSION = 1;

/** Int32 words of the header. */
export const H = Object.freeze({
  MAGIC: 0, VERSION: 1, SIZE: 2, MAX_ENTRY: 3, MAX_KEY: 4, BLOCK_BYTES: 5, BLOCK_COUNT: 6,
  BUCKET_COUNT: 7, SEED: 8, AVERAGE: 9,
  LOCK: 10, LOCK_SEQ: 11, WAITERS: 12, DIRTY: 13,
  ENTRIES: 14, FREE_ENTRY: 15, FREE_BLOCK: 16, FREE_BLOCKS: 17, OLDEST: 18, NEWEST: 19,
});
export const HEADER_INT32S = 24;

/** BigInt64 counters, each only ever increased with Atomics.add (lookups = hits + misses). */
export const C = Object.freeze({
  HITS: 1, MISSES: 2, EXPIRED: 3, STORES: 4, EVICTIONS: 5, OVERSIZE: 6,
  ERRORS: 7, LOCK_RECOVERIES: 8, RESETS: 9,
});
export const COUNTERS = 12;

/**
 * One entry is 40 bytes, an array of structs so that a lookup touches one or two cache
 * lines: Int32 fields, then the absolute expiry time (ms since the epoch) as a Float64
 * in words 8-9, read through a Float64Array over the same bytes. KEY_RUN holds the key
 * length (low 16 bits) and how many blocks the chain starts with in a row (high bits,
 * see shm-blocks.ts). TTL (ms, capped at 2^31 - 1) only tells an entry's age for `list`.
 */
export const E = Object.freeze({ HASH: 0, NEXT: 1, PREV_AGE: 2, NEXT_AGE: 3, KEY_RUN: 4, VALUE_LEN: 5, FIRST: 6, TTL: 7 });
export const ENTRY_INT32S = 10;
/** Float64 index of entry i's expiry: i * ENTRY_FLOAT64S + EXPIRES. */
export const ENTRY_FLOAT64S = ENTRY_INT32S / 2;
export const EXPIRES = 4;

export const NONE = -1;

export interface Layout {
  options: SharedStoreOptions;
  blockCount: number;
  bucketCount: number;
  /** Byte offsets of each region. */
  counters: number;
  lifetime: number;
  buckets: number;
  entries: number;
  blockNext: number;
  data: number;
  bytes: number;
}

export function blocksFor (bytes: number, blockBytes: number): number {
  return Math.max(1, Math.ceil(bytes / blockBytes));
}

function align8 (n: number): number {
  return (n + 7) & ~7;
}

function check (name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`shared store ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

export function computeLayout (options: SharedStoreOptions): Layout {
  check('size', options.size, 0, 0x3fffffff);
  check('maxEntryBytes', options.maxEntryBytes, 1, 0x00ffffff);
  check('maxKeyBytes', options.maxKeyBytes, 1, 0xffff);
  check('blockBytes', options.blockBytes, 16, 0xffff);
  check('averageEntryBytes', options.averageEntryBytes, 1, 0x00ffffff);
  if (!(options.lifetime > 0)) throw new RangeError(`shared store lifetime must be > 0, got ${options.lifetime}`);
  const { size, blockBytes } = options;
  // No entry is larger than maxKeyBytes + maxEntryBytes (a stick table's are small), and
  // there is always room for one entry of the largest size, however small `size` is.
  const largest = options.maxKeyBytes + options.maxEntryBytes;
  const perEntry = blocksFor(Math.min(options.averageEntryBytes, largest), blockBytes);
  const blockCount = size === 0 ? 0 : Math.max(size * perEntry, blocksFor(largest, blockBytes));
  // A power of two >= size keeps chains short (load factor <= 1) and the index a mask.
  let bucketCount = 1;
  while (bucketCount < size) bucketCount *= 2;

  let at = HEADER_INT32S * 4;
  const counters = align8(at); at = counters + COUNTERS * 8;
  const lifetime = at; at += 8;
  const buckets = at; at += bucketCount * 4;
  const entries = align8(at); at = entries + size * ENTRY_INT32S * 4;
  const blockNext = at; at += blockCount * 4;
  const data = at; at += blockCount * blockBytes;
  return { options, blockCount, bucketCount, counters, lifetime, buckets, entries, blockNext, data, bytes: align8(at) };
}

/** Typed views of one store's buffer. */
export interface Views {
  header: Int32Array;
  counters: BigInt64Array;
  buckets: Int32Array;
  entries: Int32Array;
  /** The entries again, as Float64 (for the expiry times). */
  times: Float64Array;
  blockNext: Int32Array;
  data: Uint8Array;
}

export function viewsOf (buffer: SharedArrayBuffer, layout: Layout): Views {
  const { size, blockBytes } = layout.options;
  return {
    header: new Int32Array(buffer, 0, HEADER_INT32S),
    counters: new BigInt64Array(buffer, layout.counters, COUNTERS),
    buckets: new Int32Array(buffer, layout.buckets, layout.bucketCount),
    entries: new Int32Array(buffer, layout.entries, size * ENTRY_INT32S),
    times: new Float64Array(buffer, layout.entries, size * ENTRY_FLOAT64S),
    blockNext: new Int32Array(buffer, layout.blockNext, layout.blockCount),
    data: new Uint8Array(buffer, layout.data, layout.blockCount * blockBytes),
  };
}

/** Writes the options into the header of a fresh buffer (before any other thread sees it). */
export function writeHeader (buffer: SharedArrayBuffer, layout: Layout, seed: number): void {
  const header = new Int32Array(buffer, 0, HEADER_INT32S);
  const o = layout.options;
  header[H.MAGIC] = MAGIC;
  header[H.VERSION] = LAYOUT_VERSION;
  header[H.SIZE] = o.size;
  header[H.MAX_ENTRY] = o.maxEntryBytes;
  header[H.MAX_KEY] = o.maxKeyBytes;
  header[H.BLOCK_BYTES] = o.blockBytes;
  header[H.BLOCK_COUNT] = layout.blockCount;
  header[H.BUCKET_COUNT] = layout.bucketCount;
  header[H.SEED] = seed;
  header[H.AVERAGE] = o.averageEntryBytes;
  new Float64Array(buffer, layout.lifetime, 1)[0] = o.lifetime;
}

/** The options a buffer was created with; throws when it is not a store of this layout. */
export function readHeader (buffer: SharedArrayBuffer): SharedStoreOptions {
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_INT32S * 4) {
    throw new TypeError('not a shared session store buffer');
  }
  const header = new Int32Array(buffer, 0, HEADER_INT32S);
  if (header[H.MAGIC] !== MAGIC || header[H.VERSION] !== LAYOUT_VERSION) {
    throw new TypeError('not a shared session store buffer (bad magic or version)');
  }
  const partial = {
    size: header[H.SIZE], maxEntryBytes: header[H.MAX_ENTRY], maxKeyBytes: header[H.MAX_KEY],
    blockBytes: header[H.BLOCK_BYTES], averageEntryBytes: header[H.AVERAGE], lifetime: 1,
  };
  const lifetime = new Float64Array(buffer, computeLayout(partial).lifetime, 1)[0];
  const options = { ...partial, lifetime };
  if (computeLayout(options).bytes !== buffer.byteLength) throw new TypeError('shared session store buffer has the wrong size');
  return options;
}
