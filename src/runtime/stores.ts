// The stores of one worker thread: the session cache and the pass-through stick tables,
// each attached to the shared memory the main thread made, with the Redis tier behind it
// when configured.
import { redisTierOptions } from '../config/store-options.ts';
import type { Config, FrontendConfig, RedisConfig } from '../config/types.ts';
import { createStore, type RedisTierOptions } from '../session-cache/create-store.ts';
import type { SessionStore } from '../session-cache/store.ts';
import type { Logger } from './logger.ts';
import type { RedisTierHooks } from './redis-metrics.ts';

/** The Redis tier of one store, its breaker changes logged (once per change, never per connection) and told to `hooks`. */
function tier (redis: RedisConfig | undefined, namespace: string, log: Logger, hooks?: RedisTierHooks): RedisTierOptions | undefined {
  return redis && {
    ...redisTierOptions(redis, namespace, (state, previous) => {
      log.warn({ tier: 'redis', store: namespace || 'sessions', breaker: state, previous }, `redis tier: breaker ${previous} -> ${state}`);
      hooks?.onBreaker(state);
    }),
    onLookup: hooks?.onLookup,
    onWrite: hooks?.onWrite,
  };
}

/** `hooks` count the Redis tier's lookups and breaker state where the admin side reads them. */
export function threadSessionStore (config: Config, buffer: SharedArrayBuffer, log: Logger, hooks?: RedisTierHooks): SessionStore {
  return createStore(buffer, tier(config.session_cache.redis, '', log, hooks));
}

export function threadStickTable (config: Config, frontend: FrontendConfig, buffer: SharedArrayBuffer, log: Logger): SessionStore {
  return createStore(buffer, tier(frontend.persist?.redis ? config.session_cache.redis : undefined, `t:${frontend.name}:`, log));
}
