// The in-memory stores answer synchronously; the SessionStore interface is async because
// Redis is not. One base turns the sync answers into the interface, so callers that can
// (the hot path, the tiered store's fast tier) use the sync methods directly.
import type { LookupResult, SessionStore, StoreEntryInfo, StoreStats } from './store.ts';

export abstract class SyncSessionStore implements SessionStore {
  abstract readonly tier: string;
  abstract getSync (key: Buffer): LookupResult;
  abstract setSync (key: Buffer, value: Buffer, ttl?: number): boolean;
  abstract deleteSync (key: Buffer): boolean;
  abstract clearSync (): number;
  abstract listSync (limit: number): StoreEntryInfo[];
  abstract stats (): StoreStats;

  async get (key: Buffer): Promise<LookupResult> { return this.getSync(key); }
  async set (key: Buffer, value: Buffer, ttl?: number): Promise<boolean> { return this.setSync(key, value, ttl); }
  async delete (key: Buffer): Promise<boolean> { return this.deleteSync(key); }
  async clear (): Promise<number> { return this.clearSync(); }
  async list (limit: number): Promise<StoreEntryInfo[]> { return this.listSync(limit); }
  async close (): Promise<void> {}
}
