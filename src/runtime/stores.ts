// The session store of one thread: the shared-memory tier, and Redis behind it when configured.
import type { Config } from '../config/types.ts';
import { createRedisClient } from '../session-cache/redis-client.ts';
import { RedisStore } from '../session-cache/redis-store.ts';
import { Sealer } from '../session-cache/seal.ts';
import { SharedMemoryStore } from '../session-cache/shared-memory-store.ts';
import type { SessionStore } from '../session-cache/store.ts';
import { TieredStore } from '../session-cache/tiered-store.ts';
import type { Logger } from './logger.ts';

export function threadSessionStore (config: Config, buffer: SharedArrayBuffer, log: Logger): SessionStore {
  const shared = SharedMemoryStore.attach(buffer);
  const redis = config.session_cache.redis;
  if (!redis) return shared;
  const c = config.session_cache;
  const slow = new RedisStore(createRedisClient(redis), Sealer.fromKeyFiles(redis.key_file), {
    size: c.size, lifetime: c.lifetime, maxEntryBytes: c.max_entry_bytes, maxKeyBytes: 64,
    ownsClient: true, prefix: redis.prefix, timeout: redis.timeout, breakerErrors: redis.breaker_errors, breakerBackoff: redis.breaker_backoff,
  });
  // Logged once per state change, never per connection.
  slow.on('breaker', (state, previous) => log.warn({ tier: 'redis', breaker: state, previous }, `redis session tier: breaker ${previous} -> ${state}`));
  return new TieredStore(shared, slow);
}
