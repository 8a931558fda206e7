// One redis-server and one client shared by a whole test file (the conformance suites),
// started by the first test that asks, so a file whose tests are skipped (no Redis here)
// starts nothing and still registers every test.
import { after } from 'node:test';
import { createRedisClient, waitReady, type RedisClient } from '../../src/redis/client.ts';
import { startRedis, type RedisHandle } from '../../bench/redis-server.ts';
import { START_GUARD_MS } from '../../bench/ports.ts';

/** Call at module level (where the `after` hook belongs); the returned function gives the client. */
export function redisForFile (): () => Promise<RedisClient> {
  let started: Promise<{ redis: RedisHandle; client: RedisClient }> | undefined;
  after(async () => {
    if (!started) return;
    const { redis, client } = await started;
    client.disconnect();
    await redis.stop();
  });
  return async () => {
    started ??= (async () => {
      const redis = await startRedis();
      const client = createRedisClient({ url: redis.url });
      await waitReady(client, START_GUARD_MS);
      return { redis, client };
    })();
    return (await started).client;
  };
}
