// The stores of one thread: the session cache and the pass-through stick tables, each a
// shared-memory tier made by the main thread, with Redis behind it when configured.
import type { Config, FrontendConfig } from '../config/types.ts';
import { createRedisClient, waitReady } from '../session-cache/redis-client.ts';
import { RedisStore } from '../session-cache/redis-store.ts';
import { Sealer } from '../session-cache/seal.ts';
import { SharedMemoryStore } from '../session-cache/shared-memory-store.ts';
import type { SessionStore, StoreOptions } from '../session-cache/store.ts';
import { TieredStore } from '../session-cache/tiered-store.ts';
import type { Logger } from './logger.ts';

const REDIS_READY_WAIT = 2000;

/** Geometry of the session cache; a reload that changes it starts a new cache. */
export function sessionStoreOptions (config: Config): StoreOptions {
  const c = config.session_cache;
  return { size: c.size, lifetime: c.lifetime, maxEntryBytes: c.max_entry_bytes, maxKeyBytes: 64 };
}

/** Geometry of a pass-through stick table: keys of at most 34 bytes, a server name as value. */
export function stickTableOptions (frontend: FrontendConfig): StoreOptions | undefined {
  const p = frontend.persist;
  return p ? { size: p.size, lifetime: p.expire, maxEntryBytes: 64, maxKeyBytes: 64 } : undefined;
}

/** Redis connections this thread opened, so start-up can wait for them (bounded). */
const connecting: Array<Promise<boolean>> = [];

/** Resolves when this thread's Redis clients are ready, or gave up waiting: a burst of handshakes before the connection is up would open the breaker. */
export async function redisReady (): Promise<void> {
  await Promise.all(connecting.splice(0));
}

/** Sessions warmshake holds as a TLS client of its backend servers: one per server, peer certificate included. */
export function backendSessionOptions (config: Config): StoreOptions | undefined {
  const servers = config.backends.reduce((n, b) => n + b.servers.filter((s) => s.tls).length, 0);
  return servers === 0 ? undefined : { size: Math.max(64, servers), lifetime: config.session_cache.lifetime, maxEntryBytes: 4096, maxKeyBytes: 64 };
}

function tiered (shared: SharedMemoryStore, config: Config, options: StoreOptions, namespace: string, log: Logger, publish?: (store: RedisStore) => void): SessionStore {
  const redis = config.session_cache.redis!;
  const client = createRedisClient(redis);
  connecting.push(waitReady(client, REDIS_READY_WAIT));
  const slow = new RedisStore(client, Sealer.fromKeyFiles(redis.key_file), {
    ...options, ownsClient: true, prefix: `${redis.prefix}${namespace}`, timeout: redis.timeout,
    breakerErrors: redis.breaker_errors, breakerBackoff: redis.breaker_backoff,
  });
  // Logged once per state change, never per connection.
  slow.on('breaker', (state, previous) => log.warn({ tier: 'redis', store: namespace || 'sessions', breaker: state, previous }, `redis tier: breaker ${previous} -> ${state}`));
  publish?.(slow);
  return new TieredStore(shared, slow);
}

/** `publish` gets the Redis tier, when there is one, to count its lookups where the admin side reads them. */
export function threadSessionStore (config: Config, buffer: SharedArrayBuffer, log: Logger, publish?: (store: RedisStore) => void): SessionStore {
  const shared = SharedMemoryStore.attach(buffer);
  return config.session_cache.redis ? tiered(shared, config, sessionStoreOptions(config), '', log, publish) : shared;
}

export function threadStickTable (config: Config, frontend: FrontendConfig, buffer: SharedArrayBuffer, log: Logger): SessionStore {
  const shared = SharedMemoryStore.attach(buffer);
  return frontend.persist?.redis ? tiered(shared, config, stickTableOptions(frontend)!, `t:${frontend.name}:`, log) : shared;
}
