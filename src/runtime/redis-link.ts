// The main thread's own Redis connection: ticket-key sync and the clock-skew watch.
// Workers have theirs for sessions; this one never sits on a handshake path.
import type { Config } from '../config/types.ts';
import { createRedisClient, waitReady, type RedisClient } from '../redis/client.ts';
import { watchClockSkew, type ClockWatch } from '../redis/clock.ts';
import type { Logger } from './logger.ts';

/** How long start-up waits for Redis before going on without it (it reconnects by itself). */
const STARTUP_WAIT = 2000;

export interface RedisLink {
  client: RedisClient;
  close (): Promise<void>;
}

export async function openRedisLink (config: Config, log: Logger): Promise<RedisLink | undefined> {
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
  return {
    client,
    async close () {
      clock.stop();
      await client.quit().catch(() => client.disconnect());
    },
  };
}
