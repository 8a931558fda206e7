// One way to make a store, whoever needs one: the main thread makes the shared memory
// (session cache, stick tables, backend sessions) and the worker threads attach to it,
// with a Redis tier behind it when configured. The options are this folder's own types;
// config/store-options.ts says what the YAML asks for in them.
import type { BreakerState } from '../redis/breaker.ts';
import { createRedisClient, waitReady, type RedisTarget } from '../redis/client.ts';
import { Sealer } from '../redis/seal.ts';
import { RedisStore, type RedisLookupResult } from './redis-store.ts';
import { SharedMemoryStore, type SharedStoreInput } from './shared-memory-store.ts';
import type { SessionStore } from './store.ts';
import { TieredStore } from './tiered-store.ts';

export interface RedisTierOptions {
  target: RedisTarget;
  /** Cache key files (mode 0600/0400): the first seals, every one opens. */
  keyFiles: readonly string[];
  /** Prepended to every key of this store, so several stores and deployments share a Redis. */
  prefix: string;
  /** Milliseconds a call may take before it counts as a timeout. */
  timeout: number;
  /** Consecutive failures that open the breaker, and how long it stays open (ms). */
  breakerErrors: number;
  breakerBackoff: number;
  /** Told of each breaker state change (to log once per change, never per connection). */
  onBreaker?: (state: BreakerState, previous: BreakerState) => void;
  /** Told of each lookup that reached Redis: (result, ms, whether it timed out); for metrics. */
  onLookup?: (result: RedisLookupResult, ms: number, timedOut: boolean) => void;
  /** Told of each session write sent to Redis: whether it was written; for metrics. */
  onWrite?: (written: boolean) => void;
}

/** How long `redisTiersReady` waits for a new Redis connection. */
const REDIS_READY_WAIT = 2000;

/** Redis connections the stores of this thread opened, so start-up can wait for them (bounded). */
const connecting: Array<Promise<boolean>> = [];

/**
 * A shared-memory store: made here (`options`, the main thread) or attached to the
 * buffer another thread made; with `redis`, a tiered store over it and a Redis store.
 */
export function createStore (shared: SharedStoreInput | SharedArrayBuffer): SharedMemoryStore;
export function createStore (shared: SharedStoreInput | SharedArrayBuffer, redis: RedisTierOptions | undefined): SessionStore;
export function createStore (shared: SharedStoreInput | SharedArrayBuffer, redis?: RedisTierOptions): SessionStore {
  const fast = shared instanceof SharedArrayBuffer ? SharedMemoryStore.attach(shared) : SharedMemoryStore.create(shared);
  if (!redis) return fast;
  const client = createRedisClient(redis.target);
  connecting.push(waitReady(client, REDIS_READY_WAIT));
  const { size, lifetime, maxEntryBytes, maxKeyBytes } = fast.options;
  const slow = new RedisStore(client, Sealer.fromKeyFiles(redis.keyFiles), {
    size, lifetime, maxEntryBytes, maxKeyBytes, ownsClient: true, prefix: redis.prefix, timeout: redis.timeout,
    breakerErrors: redis.breakerErrors, breakerBackoff: redis.breakerBackoff,
  });
  const onBreaker = redis.onBreaker;
  if (onBreaker) slow.on('breaker', (state, previous) => onBreaker(state, previous));
  const onLookup = redis.onLookup;
  if (onLookup) slow.on('lookup', (result, ms, timedOut) => onLookup(result, ms, timedOut));
  const onWrite = redis.onWrite;
  if (onWrite) slow.on('write', (written) => onWrite(written));
  return new TieredStore(fast, slow);
}

/**
 * Resolves when the Redis clients of this thread's stores are ready, or gave up waiting:
 * a burst of handshakes before the connection is up would open the breaker.
 */
export async function redisTiersReady (): Promise<void> {
  await Promise.all(connecting.splice(0));
}
