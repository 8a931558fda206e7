// Two tiers behind one SessionStore: a fast local tier (shared memory, every thread of
// this node) in front of a slow shared tier (Redis, every node). A lookup tries the
// fast tier, then the slow one (bounded by its own timeout); a slow hit is copied into
// the fast tier for what remains of its life, so the next resumption on this node stays
// local. A store writes the fast tier before resolving and the slow tier in the
// background: the handshake never waits on the network to save a session.
import type { LookupResult, SessionStore, StoreEntryInfo, StoreStats } from './store.ts';

export interface TieredStoreOptions {
  /** Background slow-tier writes kept in flight at most; past that, a write is skipped (and counted) rather than queued. */
  maxPendingWrites: number;
}

export const DEFAULT_TIERED_STORE_OPTIONS: TieredStoreOptions = Object.freeze({
  maxPendingWrites: 10_000,
});

/** The fast tier's numbers (what `show info` reports for this node) under the tier name `tiered`, plus each tier's own. */
export interface TieredStoreStats extends StoreStats {
  tiers: {
    fast: StoreStats;
    slow: StoreStats;
  };
  /** Background writes to the slow tier that failed, threw, or were skipped because too many were in flight. */
  slowWriteFailures: number;
  /** Slow-tier hits copied into the fast tier. */
  fills: number;
}

export class TieredStore implements SessionStore {
  readonly tier = 'tiered';
  readonly #fast: SessionStore;
  readonly #slow: SessionStore;
  readonly #o: TieredStoreOptions;
  readonly #pending = new Set<Promise<void>>();
  #slowWriteFailures = 0;
  #fills = 0;

  constructor (fast: SessionStore, slow: SessionStore, options: Partial<TieredStoreOptions> = {}) {
    this.#fast = fast;
    this.#slow = slow;
    this.#o = { ...DEFAULT_TIERED_STORE_OPTIONS, ...options };
  }

  get fast (): SessionStore {
    return this.#fast;
  }

  get slow (): SessionStore {
    return this.#slow;
  }

  async get (key: Buffer): Promise<LookupResult> {
    const first = await this.#fast.get(key);
    if (first.value) return first;
    const second = await this.fill(key);
    if (second.value) return second;
    // A miss is the whole store's (a hit names the tier that had it). The slow tier's
    // reason says more ('timeout', 'error'), except that a local 'expired' beats its 'unknown'.
    const miss = second.miss === 'unknown' && first.miss !== undefined ? first.miss : second.miss;
    return { miss: miss ?? 'unknown', tier: this.tier };
  }

  /**
   * The slow tier's answer for a key the fast tier has just missed (here, or in the
   * native engine, which looks in the shared memory itself); a hit is copied into the
   * fast tier. `filled` says whether the copy is there to be read.
   */
  async fill (key: Buffer): Promise<LookupResult & { filled?: boolean }> {
    const second = await this.#slow.get(key);
    if (second.value) {
      // Only fill with a positive remaining life: an entry about to expire is not worth a slot.
      const filled = (second.ttl === undefined || second.ttl > 0) && await this.#fast.set(key, second.value, second.ttl);
      if (filled) this.#fills++;
      return { ...second, filled };
    }
    return second;
  }

  /** Writes the slow tier only, in the background: the fast tier has it already (the native engine wrote it). */
  publish (key: Buffer, value: Buffer, ttl?: number): void {
    this.#writeBehind(() => this.#slow.set(key, value, ttl));
  }

  async set (key: Buffer, value: Buffer, ttl?: number): Promise<boolean> {
    const stored = await this.#fast.set(key, value, ttl);
    this.publish(key, value, ttl);
    return stored;
  }

  async delete (key: Buffer): Promise<boolean> {
    const [fast, slow] = await Promise.all([this.#fast.delete(key), this.#slow.delete(key).catch(() => false)]);
    return fast || slow;
  }

  /**
   * Clears both tiers; rejects (after clearing the fast tier) when the slow tier cannot
   * be cleared. The count is the larger tier's: both mostly hold the same sessions, the
   * slow tier those of every node.
   */
  async clear (): Promise<number> {
    const fast = await this.#fast.clear();
    const slow = await this.#slow.clear();
    return Math.max(fast, slow);
  }

  /** The newest entries of both tiers, each key once (the slow tier is skipped when it fails: `list` is informational). */
  async list (limit: number): Promise<StoreEntryInfo[]> {
    const [fast, slow] = await Promise.all([this.#fast.list(limit), this.#slow.list(limit).catch(() => [])]);
    const seen = new Set(fast.map((e) => e.key.toString('hex')));
    const merged = [...fast, ...slow.filter((e) => !seen.has(e.key.toString('hex')))];
    return merged.sort((a, b) => a.age - b.age).slice(0, limit);
  }

  stats (): TieredStoreStats {
    const fast = this.#fast.stats();
    return { ...fast, tier: this.tier, tiers: { fast, slow: this.#slow.stats() }, slowWriteFailures: this.#slowWriteFailures, fills: this.#fills };
  }

  /** Resolves once the background writes in flight now have settled (each is bounded by the slow tier's timeout). */
  async flush (): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  async close (): Promise<void> {
    await this.flush();
    await Promise.all([this.#fast.close(), this.#slow.close()]);
  }

  #writeBehind (write: () => Promise<boolean>): void {
    if (this.#pending.size >= this.#o.maxPendingWrites) {
      this.#slowWriteFailures++;
      return;
    }
    // Started now, not in a later tick, so that a delete issued right after reaches the slow tier after this write.
    let started: Promise<boolean>;
    try {
      started = write();
    } catch {
      this.#slowWriteFailures++;
      return;
    }
    const done: Promise<void> = started
      .then((ok) => { if (!ok) this.#slowWriteFailures++; }, () => { this.#slowWriteFailures++; })
      .finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }
}
