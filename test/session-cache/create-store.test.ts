// createStore: what the main thread and the workers make their stores with. The main
// thread's store and a worker's attached one are the same memory; with a Redis tier,
// a session written through the tiered store is in Redis, sealed, under the store's prefix.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRedisClient, waitReady } from '../../src/redis/client.ts';
import { createStore, redisTiersReady } from '../../src/session-cache/create-store.ts';
import { SharedMemoryStore } from '../../src/session-cache/shared-memory-store.ts';
import { DEFAULT_STORE_OPTIONS } from '../../src/session-cache/store.ts';
import { TieredStore } from '../../src/session-cache/tiered-store.ts';
import { tempDir } from '../helpers/certs.ts';
import { redisSkipReason, startRedis } from '../../bench/redis-server.ts';

const OPTIONS = { ...DEFAULT_STORE_OPTIONS, size: 100 };

test('made from options, then attached to its buffer: one memory', async () => {
  const made = createStore(OPTIONS);
  assert.ok(made instanceof SharedMemoryStore);
  const attached = createStore(made.buffer);
  assert.equal(await made.set(Buffer.from('id-1'), Buffer.from('session'), 60_000), true);
  assert.deepEqual((await attached.get(Buffer.from('id-1'))).value, Buffer.from('session'));
  assert.ok(attached instanceof SharedMemoryStore);
});

test('with a Redis tier: tiered, the value sealed in Redis under the prefix', { skip: redisSkipReason() }, async (t) => {
  const redis = await startRedis(t);
  const keyFile = join(tempDir(t), 'cache.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'));
  chmodSync(keyFile, 0o600);
  const breaker: string[] = [];
  const store = createStore(createStore(OPTIONS).buffer, {
    target: { url: redis.url }, keyFiles: [keyFile], prefix: 'cs:', timeout: 500, breakerErrors: 3, breakerBackoff: 1000,
    onBreaker: (state) => breaker.push(state),
  });
  t.after(() => store.close());
  assert.ok(store instanceof TieredStore);
  await redisTiersReady();
  assert.equal(await store.set(Buffer.from('id-2'), Buffer.from('secret session'), 60_000), true);
  const client = createRedisClient({ url: redis.url });
  t.after(() => client.disconnect());
  await waitReady(client, 5000);
  let keys: string[] = [];
  // The Redis write follows the shared-memory one without holding the caller: wait for it.
  while (keys.length === 0) keys = await client.keys('cs:*');
  assert.equal(keys.length, 1);
  const raw = await client.getBuffer(keys[0]!);
  assert.ok(raw && !raw.includes(Buffer.from('secret session')), 'the value in Redis is sealed');
  assert.deepEqual(breaker, []);
});
