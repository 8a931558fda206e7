// The session store every worker thread shares: one SharedArrayBuffer, created by the
// supervisor and handed to each worker in `workerData` (pinojs/thread-stream), the same
// idea as HAProxy's shctx and nginx's shared zone. A client that resumes on another
// thread finds its session here. Layout and the reasons for it: shm-layout.ts; the
// index and the eviction policy: shm-table.ts; the lock and its recovery: shm-lock.ts.
//
// The TLS hooks are synchronous at heart, so `getSync`/`setSync` are the fast paths
// and the async SessionStore methods only wrap them.
import { randomInt } from 'node:crypto';
import { ShmLock } from './shm-lock.ts';
import { SyncSessionStore } from './sync-store.ts';
import { ShmTable } from './shm-table.ts';
import { C, computeLayout, DEFAULT_SHARED_STORE_OPTIONS, H, readHeader, viewsOf, writeHeader } from './shm-layout.ts';
import type { Layout, SharedStoreOptions, Views } from './shm-layout.ts';
import type { ShmLockOptions } from './shm-lock.ts';
import type { LookupResult, StoreEntryInfo, StoreOptions, StoreStats } from './store.ts';

export { DEFAULT_SHARED_STORE_OPTIONS } from './shm-layout.ts';
export type { SharedStoreOptions } from './shm-layout.ts';

/** What `create` takes: the store options, and optionally the block layout. */
export type SharedStoreInput = StoreOptions & Partial<Pick<SharedStoreOptions, 'blockBytes' | 'averageEntryBytes'>>;

export interface SharedStoreStats extends StoreStats {
  /** Data blocks in the pool, and how many are free. */
  blocks: number;
  freeBlocks: number;
  /** Times a lock left by a dead or stuck thread was taken over. */
  lockRecoveries: number;
  /** Times the store was wiped because a dead thread left it half changed. */
  resets: number;
}

function withDefaults (options: SharedStoreInput): SharedStoreOptions {
  return {
    ...DEFAULT_SHARED_STORE_OPTIONS,
    ...options,
    blockBytes: options.blockBytes ?? DEFAULT_SHARED_STORE_OPTIONS.blockBytes,
    averageEntryBytes: options.averageEntryBytes ?? DEFAULT_SHARED_STORE_OPTIONS.averageEntryBytes,
  };
}

/** Bytes of shared memory a store with these options takes (for `warmshake check`). */
export function sharedStoreBytes (options: SharedStoreInput): number {
  return computeLayout(withDefaults(options)).bytes;
}

export class SharedMemoryStore extends SyncSessionStore {
  readonly tier = 'shared';
  readonly #buffer: SharedArrayBuffer;
  readonly #layout: Layout;
  readonly #views: Views;
  readonly #table: ShmTable;
  readonly #lock: ShmLock;

  /** Allocates a new store (in the thread that will hand it to the others). */
  static create (options: SharedStoreInput, lockOptions?: Partial<ShmLockOptions>): SharedMemoryStore {
    const layout = computeLayout(withDefaults(options));
    const buffer = new SharedArrayBuffer(layout.bytes);
    writeHeader(buffer, layout, randomInt(0x7fffffff));
    const store = new SharedMemoryStore(buffer, layout, lockOptions);
    store.#table.init();
    return store;
  }

  /** Opens a store created elsewhere (its options are read from the buffer). */
  static attach (buffer: SharedArrayBuffer, lockOptions?: Partial<ShmLockOptions>): SharedMemoryStore {
    return new SharedMemoryStore(buffer, computeLayout(readHeader(buffer)), lockOptions);
  }

  private constructor (buffer: SharedArrayBuffer, layout: Layout, lockOptions?: Partial<ShmLockOptions>) {
    super();
    this.#buffer = buffer;
    this.#layout = layout;
    this.#views = viewsOf(buffer, layout);
    this.#table = new ShmTable(this.#views, layout);
    this.#lock = new ShmLock(this.#views.header, { lock: H.LOCK, seq: H.LOCK_SEQ, waiters: H.WAITERS }, () => this.#tookOver(), lockOptions);
  }

  get buffer (): SharedArrayBuffer {
    return this.#buffer;
  }

  /** Region offsets, for the native engine (which never recomputes them). */
  get layout (): Readonly<Layout> {
    return this.#layout;
  }

  get options (): Readonly<SharedStoreOptions> {
    return this.#layout.options;
  }

  getSync (key: Buffer): LookupResult {
    this.#lock.acquire();
    try {
      return this.#table.lookup(key);
    } finally {
      this.#lock.release();
    }
  }

  setSync (key: Buffer, value: Buffer, ttl = this.#layout.options.lifetime): boolean {
    if (!(ttl > 0)) return false;
    this.#lock.acquire();
    try {
      return this.#table.store(key, value, ttl, Date.now());
    } finally {
      this.#lock.release();
    }
  }

  deleteSync (key: Buffer): boolean {
    this.#lock.acquire();
    try {
      return this.#table.delete(key);
    } finally {
      this.#lock.release();
    }
  }

  clearSync (): number {
    this.#lock.acquire();
    try {
      return this.#table.wipe();
    } finally {
      this.#lock.release();
    }
  }

  listSync (limit: number): StoreEntryInfo[] {
    this.#lock.acquire();
    try {
      return this.#table.list(limit, Date.now());
    } finally {
      this.#lock.release();
    }
  }

  /**
   * For the supervisor, when a worker exits: if that thread died holding the lock, take
   * the lock back (wiping the store if it died in the middle of a change). True if it did.
   */
  recoverLock (deadThreadId: number): boolean {
    return this.#lock.recover(deadThreadId);
  }

  /** Lock-free: counters are Atomics, read as they are now. */
  stats (): SharedStoreStats {
    const c = this.#views.counters;
    const header = this.#views.header;
    const n = (i: number): number => Number(Atomics.load(c, i));
    const hits = n(C.HITS);
    const misses = n(C.MISSES);
    return {
      tier: this.tier,
      entries: Atomics.load(header, H.ENTRIES),
      capacity: this.#layout.options.size,
      bytes: this.#buffer.byteLength,
      lookups: hits + misses,
      hits,
      misses,
      expired: n(C.EXPIRED),
      stores: n(C.STORES),
      evictions: n(C.EVICTIONS),
      oversize: n(C.OVERSIZE),
      errors: n(C.ERRORS),
      blocks: this.#layout.blockCount,
      freeBlocks: Atomics.load(header, H.FREE_BLOCKS),
      lockRecoveries: n(C.LOCK_RECOVERIES),
      resets: n(C.RESETS),
    };
  }

  /** The buffer belongs to every thread; closing one handle frees nothing. */

  #tookOver (): void {
    this.#table.count(C.LOCK_RECOVERIES);
    if (this.#table.dirty) {
      this.#table.wipe();
      this.#table.count(C.RESETS);
    }
  }
}
