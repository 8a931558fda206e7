// The main thread's own Redis connection: ticket-key sync, the clock-skew watch, and the
// session tier as the admin commands see it (`show sessions`, `clear sessions`). Workers
// have theirs for handshakes; this one never sits on a handshake path.
import type { Config } from '../config/types.ts';
import { createRedisClient, waitReady, type RedisClient } from '../redis/client.ts';
import { TIMED_OUT, withDeadline } from '../redis/deadline.ts';
import { watchClockSkew, type ClockWatch } from '../redis/clock.ts';
import { Sealer } from '../redis/seal.ts';
import { RedisStore } from '../session-cache/redis-store.ts';
import { watchClears } from '../session-cache/redis-clear.ts';
import type { Logger } from './logger.ts';
import { sessionStoreOptions } from '../config/store-options.ts';

/** How long start-up waits for Redis before going on without it (it reconnects by itself). */
const STARTUP_WAIT = 2000;
/** How long a stop or a reload waits for Redis to answer QUIT before dropping the connection. */
const QUIT_WAIT = 1000;

export interface RedisLink {
  client: RedisClient;
  /**
   * The workers' Redis session tier (same prefix and key) for the admin commands; its
   * `clear` also tells every other node to clear its shared-memory tier.
   */
  sessions: Pick<RedisStore, 'list' | 'clear'>;
  close (): Promise<void>;
}

/** `onRemoteClear`: another node ran `clear sessions`; clear this node's shared-memory tier. */
export async function openRedisLink (config: Config, log: Logger, onRemoteClear: () => Promise<number>): Promise<RedisLink | undefined> {
  const redis = config.session_cache.redis;
  if (!redis) return undefined;
  const client = createRedisClient(redis);
  if (!await waitReady(client, STARTUP_WAIT)) log.warn({ tier: 'redis' }, `redis not reachable within ${STARTUP_WAIT} ms; starting without it, it will reconnect`);
  // Sessions carry their creation time and each node checks lifetime against its own
  // clock, so a skewed node expires sessions early or late.
  let warned = false;
  const clock: ClockWatch = watchClockSkew(client, {
    onSkew: (skew) => log.warn({ skewMs: Math.round(skew) }, `this node's clock is ${Math.round(skew)} ms off Redis TIME: sessions will expire early or late on this node; fix NTP`),
    onError: (err: Error) => { if (!warned) { warned = true; log.warn({ err: err.message }, 'clock-skew check against Redis failed'); } },
  });
  void clock.check();
  const sessions = new RedisStore(client, Sealer.fromKeyFiles(redis.key_file), {
    ...sessionStoreOptions(config), prefix: redis.prefix, timeout: redis.timeout,
    breakerErrors: redis.breaker_errors, breakerBackoff: redis.breaker_backoff,
  });
  const clears = watchClears(client, redis.prefix, () => {
    onRemoteClear().then((removed) => log.warn({ removed }, 'session cache cleared: another node ran clear sessions'),
      (err: Error) => log.error({ err: err.message }, 'clearing the session cache for another node failed'));
  });
  return {
    client,
    sessions: {
      list: (limit) => sessions.list(limit),
      async clear () {
        const removed = await sessions.clear();
        await clears.announce();
        return removed;
      },
    },
    async close () {
      clock.stop();
      clears.stop();
      await sessions.close();
      // QUIT waits for Redis's answer, which a hung Redis (SIGSTOP, a partition) never
      // gives: a stop or a reload must not wait on it (it did, for good).
      const quit = await withDeadline(client.quit(), QUIT_WAIT).catch(() => TIMED_OUT);
      if (quit === TIMED_OUT) client.disconnect();
    },
  };
}
