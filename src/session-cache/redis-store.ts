// The Redis tier: sessions shared by every warmshake node. Each value is sealed
// (AES-256-GCM) with the full Redis key as AAD, so Redis only ever holds ciphertext and
// a value copied under another key does not open. Entries expire in Redis (PX), so the
// nodes need no clock agreement. Every call is bounded by `timeout` and goes through a
// circuit breaker: a slow or dead Redis costs a handshake at most `timeout` ms, and
// while the breaker is open nothing at all.
//
// `stats().entries` is 0 and `capacity` 0: counting the prefix's keys would need a full
// SCAN, and Redis bounds the keyspace itself (maxmemory + volatile-ttl/allkeys-lru).
import { EventEmitter } from 'node:events';
import { SessionStoreUnavailableError } from '../errors.ts';
import { CircuitBreaker, DEFAULT_BREAKER_OPTIONS } from '../redis/breaker.ts';
import type { BreakerState } from '../redis/breaker.ts';
import { TIMED_OUT, withDeadline } from '../redis/deadline.ts';
import { scanTargets } from '../redis/client.ts';
import type { RedisClient } from '../redis/client.ts';
import { Sealer } from '../redis/seal.ts';
import { DEFAULT_STORE_OPTIONS, emptyStats } from './store.ts';
import type { LookupResult, MissReason, SessionStore, StoreEntryInfo, StoreOptions, StoreStats } from './store.ts';

export interface RedisStoreOptions extends StoreOptions {
  /** Prepended to every key (`<prefix>s:<hex session key>`), so several deployments can share a Redis. */
  prefix: string;
  /** Milliseconds a get/set/delete may take before it counts as a timeout. */
  timeout: number;
  /** Consecutive failures that open the breaker, and how long it stays open (ms). */
  breakerErrors: number;
  breakerBackoff: number;
  /** Milliseconds each command of `list()`/`clear()` may take (admin commands, not handshakes). */
  adminTimeout: number;
  /** Most keys `list()` visits to find the newest entries. */
  listScanLimit: number;
  /** Close the client with the store (true when the store created it). */
  ownsClient: boolean;
  /** Monotonic clock for the breaker. */
  now: () => number;
}

export const DEFAULT_REDIS_STORE_OPTIONS: RedisStoreOptions = Object.freeze({
  ...DEFAULT_STORE_OPTIONS,
  prefix: 'warmshake:',
  timeout: 50,
  breakerErrors: DEFAULT_BREAKER_OPTIONS.errors,
  breakerBackoff: DEFAULT_BREAKER_OPTIONS.backoff,
  adminTimeout: 2000,
  listScanLimit: 10_000,
  ownsClient: false,
  now: DEFAULT_BREAKER_OPTIONS.now,
});

/** `StoreStats` plus what only the Redis tier has. */
export interface RedisStoreStats extends StoreStats {
  /** Calls that did not answer within `timeout` (also counted in `errors`). */
  timeouts: number;
  /** Calls refused at once because the breaker was open (also counted in `errors`). */
  rejected: number;
  /** Values that failed to open: tampered, moved, or sealed with a key this node lacks (also in `errors`). */
  tampered: number;
  breaker: BreakerState;
}

/** How one handshake-path lookup ended: `error` covers timeouts, refusals by the open breaker and values that failed to open. */
export type RedisLookupResult = 'hit' | 'miss' | 'error';

export interface RedisStoreEvents {
  /** The breaker changed state: (state, previous). */
  breaker: [BreakerState, BreakerState];
  /** One `get` ended: (result, milliseconds it took, whether it hit the timeout). For metrics; never per-lookup logs. */
  lookup: [RedisLookupResult, number, boolean];
  /** One `set` that reached the client ended: (written, whether it hit the timeout). A failed one leaves the session on this node only. */
  write: [boolean, boolean];
}

/**
 * The plaintext starts with the ttl the entry was stored with (6 bytes), so `list()`
 * tells its age from PTTL without trusting clocks, and the wall-clock time it was made
 * to the microsecond (float64), which only orders `list()` (PTTL has 1 ms steps, and
 * sessions stored in the same millisecond must still come out newest first).
 */
const TTL_BYTES = 6;
const TTL_HEADER_BYTES = TTL_BYTES + 8;
const SCAN_COUNT = 500;

export class RedisStore extends EventEmitter<RedisStoreEvents> implements SessionStore {
  readonly tier = 'redis';
  readonly #client: RedisClient;
  readonly #sealer: Sealer;
  readonly #o: RedisStoreOptions;
  readonly #breaker: CircuitBreaker;
  readonly #stats: RedisStoreStats;

  constructor (client: RedisClient, sealer: Sealer, options: Partial<RedisStoreOptions> = {}) {
    super();
    this.#client = client;
    this.#sealer = sealer;
    this.#o = { ...DEFAULT_REDIS_STORE_OPTIONS, ...options };
    this.#breaker = new CircuitBreaker({ errors: this.#o.breakerErrors, backoff: this.#o.breakerBackoff, now: this.#o.now });
    this.#breaker.on('state', (state, previous) => this.emit('breaker', state, previous));
    this.#stats = { ...emptyStats(this.tier), timeouts: 0, rejected: 0, tampered: 0, breaker: 'closed' };
  }

  get client (): RedisClient {
    return this.#client;
  }

  breakerState (): BreakerState {
    return this.#breaker.state;
  }

  async get (key: Buffer): Promise<LookupResult> {
    const start = performance.now();
    const result = await this.#get(key);
    const outcome = result.value ? 'hit' : result.miss === 'error' || result.miss === 'timeout' ? 'error' : 'miss';
    this.emit('lookup', outcome, performance.now() - start, result.miss === 'timeout');
    return result;
  }

  async #get (key: Buffer): Promise<LookupResult> {
    this.#stats.lookups++;
    if (key.length === 0 || key.length > this.#o.maxKeyBytes) return this.#miss('unknown');
    const name = this.#name(key);
    const reply = await this.#call(() => this.#client.pipeline().getBuffer(name).pttl(name).exec());
    if (reply === 'timeout' || reply === 'error') return this.#miss(reply);
    const [got, pttl] = pipelineResults(reply);
    if (got instanceof Error || pttl instanceof Error) return this.#miss('error');
    if (!Buffer.isBuffer(got)) return this.#miss('unknown');
    const plain = this.#sealer.open(got, Buffer.from(name));
    if (!plain || plain.length < TTL_HEADER_BYTES) {
      // Never a hit: the bytes are not what some node sealed under this key.
      this.#stats.tampered++;
      return this.#miss('error');
    }
    const storedTtl = plain.readUIntBE(0, TTL_BYTES);
    // -2: expired between GET and PTTL; -1: no expiry (not written by us), keep what it was stored for.
    if (pttl === -2) return this.#miss('unknown');
    const ttl = typeof pttl === 'number' && pttl >= 0 ? pttl : storedTtl;
    this.#stats.hits++;
    return { value: plain.subarray(TTL_HEADER_BYTES), tier: this.tier, ttl };
  }

  async set (key: Buffer, value: Buffer, ttl = this.#o.lifetime): Promise<boolean> {
    if (key.length === 0 || key.length > this.#o.maxKeyBytes || value.length > this.#o.maxEntryBytes) {
      this.#stats.oversize++;
      return false;
    }
    const ms = Math.floor(ttl);
    if (!(ms > 0)) return false;
    const name = this.#name(key);
    const plain = Buffer.allocUnsafe(TTL_HEADER_BYTES + value.length);
    plain.writeUIntBE(Math.min(ms, 2 ** 48 - 1), 0, TTL_BYTES);
    plain.writeDoubleBE(performance.timeOrigin + performance.now(), TTL_BYTES);
    value.copy(plain, TTL_HEADER_BYTES);
    const sealed = this.#sealer.seal(plain, Buffer.from(name));
    plain.fill(0);
    const reply = await this.#call(() => this.#client.set(name, sealed, 'PX', ms));
    const written = reply !== 'timeout' && reply !== 'error';
    this.emit('write', written, reply === 'timeout');
    if (!written) {
      this.#stats.errors++;
      return false;
    }
    this.#stats.stores++;
    return true;
  }

  async delete (key: Buffer): Promise<boolean> {
    if (key.length === 0 || key.length > this.#o.maxKeyBytes) return false;
    const reply = await this.#call(() => this.#client.del(this.#name(key)));
    if (reply === 'timeout' || reply === 'error') {
      this.#stats.errors++;
      return false;
    }
    return reply > 0;
  }

  /** Removes this prefix's sessions (SCAN + UNLINK on every master); rejects with SessionStoreUnavailableError when Redis fails. */
  async clear (): Promise<number> {
    let removed = 0;
    await this.#scan(Number.POSITIVE_INFINITY, async (node, names) => {
      // One UNLINK per key in a pipeline: a multi-key UNLINK fails across Cluster slots.
      const pipeline = node.pipeline();
      for (const name of names) pipeline.unlink(name);
      const reply = await this.#admin(pipeline.exec());
      for (const r of pipelineResults(reply)) if (typeof r === 'number') removed += r;
    });
    return removed;
  }

  /**
   * Up to `limit` entries, newest first, among at most `listScanLimit` keys visited
   * (SCAN order is arbitrary, so past that bound "newest" means newest of those seen).
   */
  async list (limit: number): Promise<StoreEntryInfo[]> {
    if (limit <= 0) return [];
    const out: (StoreEntryInfo & { created: number })[] = [];
    await this.#scan(this.#o.listScanLimit, async (node, names) => {
      const pipeline = node.pipeline();
      for (const name of names) pipeline.getBuffer(name).pttl(name);
      const results = pipelineResults(await this.#admin(pipeline.exec()));
      names.forEach((name, i) => {
        const sealed = results[2 * i];
        const pttl = results[2 * i + 1];
        if (!Buffer.isBuffer(sealed) || typeof pttl !== 'number' || pttl === -2) return;
        const plain = this.#sealer.open(sealed, Buffer.from(name));
        if (!plain || plain.length < TTL_HEADER_BYTES) return;
        const stored = plain.readUIntBE(0, TTL_BYTES);
        const created = plain.readDoubleBE(TTL_BYTES);
        const ttl = pttl >= 0 ? pttl : stored;
        out.push({ key: Buffer.from(name.slice(this.#o.prefix.length + 2), 'hex'), bytes: plain.length - TTL_HEADER_BYTES, age: Math.max(0, stored - ttl), ttl, created });
        plain.fill(0);
      });
    });
    return out.sort((a, b) => b.created - a.created).slice(0, limit).map(({ created: _, ...entry }) => entry);
  }

  stats (): RedisStoreStats {
    return { ...this.#stats, breaker: this.#breaker.state };
  }

  async close (): Promise<void> {
    this.#breaker.removeAllListeners();
    if (this.#o.ownsClient) this.#client.disconnect();
  }

  #name (key: Buffer): string {
    return `${this.#o.prefix}s:${key.toString('hex')}`;
  }

  #miss (miss: MissReason): LookupResult {
    this.#stats.misses++;
    if (miss === 'error' || miss === 'timeout') this.#stats.errors++;
    return { miss, tier: this.tier };
  }

  /**
   * Runs one handshake-path call through the breaker and the deadline. It drives the
   * breaker and counts timeouts and refusals; the caller counts the failure in `errors`.
   */
  async #call<T> (run: () => Promise<T>): Promise<T | 'timeout' | 'error'> {
    if (!this.#breaker.allow()) {
      this.#stats.rejected++;
      return 'error';
    }
    try {
      const reply = await withDeadline(run(), this.#o.timeout);
      if (reply === TIMED_OUT) {
        this.#stats.timeouts++;
        this.#breaker.failure();
        return 'timeout';
      }
      // A pipeline reports per-command errors in its result rather than rejecting.
      if (Array.isArray(reply) && reply.some((r) => Array.isArray(r) && r[0] instanceof Error)) {
        this.#breaker.failure();
        return 'error';
      }
      this.#breaker.success();
      return reply;
    } catch {
      this.#breaker.failure();
      return 'error';
    }
  }

  async #admin<T> (promise: Promise<T>): Promise<T> {
    let reply: T | typeof TIMED_OUT;
    try {
      reply = await withDeadline(promise, this.#o.adminTimeout);
    } catch (err) {
      this.#stats.errors++;
      throw new SessionStoreUnavailableError(`redis: ${(err as Error).message}`, { cause: err });
    }
    if (reply === TIMED_OUT) {
      this.#stats.errors++;
      throw new SessionStoreUnavailableError(`redis did not answer within ${this.#o.adminTimeout} ms`);
    }
    return reply;
  }

  /** Walks this prefix's session keys on every master, `visit`ing them in batches, until `max` keys were seen. */
  async #scan (max: number, visit: (node: ReturnType<typeof scanTargets>[number], names: string[]) => Promise<void>): Promise<void> {
    if (this.#breaker.state === 'open') throw new SessionStoreUnavailableError('redis circuit breaker is open');
    const pattern = `${escapeGlob(this.#o.prefix)}s:*`;
    let seen = 0;
    for (const node of scanTargets(this.#client)) {
      let cursor = '0';
      do {
        const [next, names] = await this.#admin(node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT));
        cursor = next;
        const batch = names.slice(0, Math.max(0, max - seen));
        seen += batch.length;
        if (batch.length > 0) await visit(node, batch);
      } while (cursor !== '0' && seen < max);
    }
  }
}

function pipelineResults (reply: [Error | null, unknown][] | null): unknown[] {
  return (reply ?? []).map(([err, value]) => err ?? value);
}

function escapeGlob (text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
