// What the config asks of each store, in the stores' own option types: the geometry of
// the session cache, of each pass-through stick table and of the backend sessions, and
// the Redis tier behind them. Read by the machine checks (memory), the main thread
// (which makes the stores) and the workers (which attach the Redis tier).
import type { RedisTierOptions } from '../session-cache/create-store.ts';
import type { StoreOptions } from '../session-cache/store.ts';
import type { Config, FrontendConfig, RedisConfig } from './types.ts';

/** Stick keys are at most 34 bytes; values a server name. */
const STICK_BYTES = 64;
/** Sessions are looked up by their id or PSK identity, hashed beyond this. */
const SESSION_KEY_BYTES = 64;

/** Geometry of the session cache; a reload that changes it starts a new cache. */
export function sessionStoreOptions (config: Config): StoreOptions {
  const c = config.session_cache;
  return { size: c.size, lifetime: c.lifetime, maxEntryBytes: c.max_entry_bytes, maxKeyBytes: SESSION_KEY_BYTES };
}

/** Geometry of a pass-through stick table, when the frontend has one. */
export function stickTableOptions (frontend: FrontendConfig): StoreOptions | undefined {
  const p = frontend.persist;
  return p ? { size: p.size, lifetime: p.expire, maxEntryBytes: STICK_BYTES, maxKeyBytes: STICK_BYTES } : undefined;
}

/** Sessions warmshake holds as a TLS client of its backend servers: one per server, peer certificate included. */
export function backendSessionOptions (config: Config): StoreOptions | undefined {
  const servers = config.backends.reduce((n, b) => n + b.servers.filter((s) => s.tls).length, 0);
  return servers === 0 ? undefined : { size: Math.max(64, servers), lifetime: config.session_cache.lifetime, maxEntryBytes: 4096, maxKeyBytes: SESSION_KEY_BYTES };
}

/** The Redis tier of a store, under `namespace` in the configured prefix ('' for the session cache). */
export function redisTierOptions (redis: RedisConfig, namespace: string, onBreaker?: RedisTierOptions['onBreaker']): RedisTierOptions {
  return {
    target: redis, keyFiles: redis.key_file, prefix: `${redis.prefix}${namespace}`, timeout: redis.timeout,
    breakerErrors: redis.breaker_errors, breakerBackoff: redis.breaker_backoff, onBreaker,
  };
}
