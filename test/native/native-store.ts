// A SessionStore whose get/set/delete run in C (the addon's test hooks) over a store the
// TypeScript side created: the conformance suite then checks the C implementation, and
// list/stats/clear (still TypeScript) read what C wrote.
import { threadId } from 'node:worker_threads';
import { SharedMemoryStore, type SharedStoreInput } from '../../src/session-cache/shared-memory-store.ts';
import { lockTag, NATIVE_LOCK_BIT } from '../../src/session-cache/shm-lock.ts';
import { SyncSessionStore } from '../../src/session-cache/sync-store.ts';
import type { LookupResult, StoreEntryInfo, StoreStats } from '../../src/session-cache/store.ts';
import type { NativeAddon, StoreHandle } from '../../src/native/types.ts';

export class NativeBackedStore extends SyncSessionStore {
  readonly tier = 'shared';
  readonly ts: SharedMemoryStore;
  readonly handle: StoreHandle;
  readonly #addon: NativeAddon;

  constructor (addon: NativeAddon, options: SharedStoreInput, tag = lockTag(threadId) | NATIVE_LOCK_BIT) {
    super();
    this.#addon = addon;
    this.ts = SharedMemoryStore.create(options);
    this.handle = addon.storeOpen(new Uint8Array(this.ts.buffer), this.ts.layout, tag);
  }

  getSync (key: Buffer): LookupResult {
    const r = this.#addon.storeGet(this.handle, key);
    return r.value ? { value: r.value, tier: this.tier, ttl: r.ttl } : { tier: this.tier, miss: r.miss };
  }

  setSync (key: Buffer, value: Buffer, ttl = this.ts.options.lifetime): boolean {
    return this.#addon.storeSet(this.handle, key, value, ttl);
  }

  deleteSync (key: Buffer): boolean { return this.#addon.storeDelete(this.handle, key); }
  clearSync (): number { return this.ts.clearSync(); }
  listSync (limit: number): StoreEntryInfo[] { return this.ts.listSync(limit); }
  stats (): StoreStats { return this.ts.stats(); }
}
