// The Redis tier against a real redis-server on a free loopback port (no mocks): the
// store contract, sealing, and what a paused, killed and restarted Redis does to it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import type { RedisConfig } from '../../src/config/types.ts';
import { createRedisClient, waitReady } from '../../src/redis/client.ts';
import type { RedisClient } from '../../src/redis/client.ts';
import { checkClockSkew, watchClockSkew } from '../../src/redis/clock.ts';
import { RedisStore } from '../../src/session-cache/redis-store.ts';
import type { RedisStoreOptions } from '../../src/session-cache/redis-store.ts';
import { Sealer } from '../../src/redis/seal.ts';
import { redisSkipReason, startRedis, startRedisCluster, startRedisSentinel } from '../../bench/redis-server.ts';
import { after } from 'node:test';
import { storeConformance } from './conformance.ts';

const skip = redisSkipReason();
const PREFIX = 'test:';

// The shared conformance suite on the Redis tier alone: Redis drops expired entries
// itself (so a miss past the ttl is 'unknown'), leaves eviction to its own policy, and
// the store does not count entries (that would need a full SCAN).
if (!redisSkipReason()) {
  const redis = await startRedis();
  after(() => redis.stop());
  const client = createRedisClient({ url: redis.url });
  after(() => client.disconnect());
  await waitReady(client, 5000);
  let stores = 0;
  storeConformance('redis store', (options) => new RedisStore(client, new Sealer([randomBytes(32)]), { ...options, prefix: `r${stores++}:`, timeout: 200 }),
    { expiredMiss: 'unknown', evictsOldest: false, countsEntries: false });
}

type Target = Pick<RedisConfig, 'url' | 'cluster' | 'sentinels' | 'name'>;

function config (target: Target): RedisConfig {
  return { ...target, key_file: [], timeout: 50, prefix: PREFIX, breaker_errors: 3, breaker_backoff: 200 };
}

async function connect (t: TestContext, target: Target): Promise<RedisClient> {
  const client = createRedisClient(config(target), { minReconnectDelay: 20, maxReconnectDelay: 100 });
  t.after(() => client.disconnect());
  assert.equal(await waitReady(client, 5000), true, 'client ready');
  return client;
}

async function makeStore (t: TestContext, url: string, options: Partial<RedisStoreOptions> = {}): Promise<{ store: RedisStore; client: RedisClient; raw: Redis; sealer: Sealer }> {
  const client = await connect(t, { url });
  const sealer = new Sealer([randomBytes(32)]);
  const store = new RedisStore(client, sealer, { prefix: PREFIX, timeout: 50, breakerErrors: 3, breakerBackoff: 200, ...options });
  t.after(() => store.close());
  // A second, plain connection: what an attacker with access to Redis sees and does.
  const raw = new Redis(url);
  raw.on('error', () => {});
  t.after(() => raw.disconnect());
  return { store, client, raw, sealer };
}

/** Calls `attempt` every 25 ms until it returns true; fails after `ms`. */
async function eventually (attempt: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await attempt())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const key = (n: number): Buffer => Buffer.from(`session-${n}`.padEnd(32, '.'));
const value = (n: number): Buffer => Buffer.from(`value of session ${n}: master secret ${'x'.repeat(40)}`);

test('store contract: set, get with the remaining ttl, miss unknown, delete, list newest first, clear', { skip }, async (t) => {
  const redis = await startRedis(t);
  const { store } = await makeStore(t, redis.url);
  assert.equal(store.tier, 'redis');
  assert.deepEqual(await store.get(key(1)), { miss: 'unknown', tier: 'redis' });
  assert.equal(await store.set(key(1), value(1), 10_000), true);
  const hit = await store.get(key(1));
  assert.deepEqual(hit.value, value(1));
  assert.equal(hit.tier, 'redis');
  assert.ok(hit.ttl !== undefined && hit.ttl > 9000 && hit.ttl <= 10_000, `ttl ${hit.ttl}`);
  // Default ttl: the store's lifetime.
  assert.equal(await store.set(key(2), value(2)), true);
  const second = await store.get(key(2));
  assert.ok(second.ttl !== undefined && second.ttl > 299_000, `ttl ${second.ttl}`);
  // Oversize values and keys are refused and counted, not stored.
  assert.equal(await store.set(key(3), Buffer.alloc(4096)), false);
  assert.equal(await store.set(Buffer.alloc(100), value(3)), false);
  assert.equal(store.stats().oversize, 2);
  assert.equal(await store.delete(key(2)), true);
  assert.equal(await store.delete(key(2)), false);
  assert.equal((await store.get(key(2))).miss, 'unknown');
  assert.equal(await store.set(key(4), value(4), 10_000), true);
  const listed = await store.list(10);
  assert.deepEqual(listed.map((e) => e.key.toString()), [key(4), key(1)].map(String));
  assert.equal(listed[1].bytes, value(1).length);
  assert.ok(listed[1].age >= listed[0].age);
  assert.equal((await store.list(1)).length, 1);
  // Keys of another prefix are neither listed nor cleared.
  const other = new RedisStore(store.client, new Sealer([randomBytes(32)]), { prefix: 'other:' });
  await other.set(key(9), value(9));
  assert.equal(await store.clear(), 2);
  assert.equal((await store.get(key(1))).miss, 'unknown');
  assert.deepEqual((await other.get(key(9))).value, value(9));
  const stats = store.stats();
  assert.equal(stats.entries, 0, 'entries are not counted (capacity 0)');
  assert.equal(stats.capacity, 0);
  assert.equal(stats.hits, 2);
  assert.equal(stats.stores, 3);
  assert.equal(stats.errors, 0);
  assert.equal(stats.lookups, stats.hits + stats.misses);
});

test('entries expire in Redis: after the ttl a lookup misses (unknown: Redis cannot tell expired from never stored)', { skip }, async (t) => {
  const redis = await startRedis(t);
  const { store } = await makeStore(t, redis.url);
  assert.equal(await store.set(key(1), value(1), 30), true);
  await eventually(async () => (await store.get(key(1))).miss === 'unknown', 2000);
  assert.equal(await store.set(key(1), value(1), 0), false, 'a ttl of 0 stores nothing');
});

test('nothing in clear: Redis holds the sealed value under prefix + s: + hex(key)', { skip }, async (t) => {
  const redis = await startRedis(t);
  const { store, raw } = await makeStore(t, redis.url);
  await store.set(key(1), value(1), 10_000);
  const names = await raw.keys('*');
  assert.deepEqual(names, [`${PREFIX}s:${key(1).toString('hex')}`]);
  const stored = await raw.getBuffer(names[0]);
  assert.ok(stored);
  assert.notDeepEqual(stored, value(1));
  assert.equal(stored.includes(value(1)), false);
  assert.equal(stored.includes(Buffer.from('master secret')), false);
  const pttl = await raw.pttl(names[0]);
  assert.ok(pttl > 9000 && pttl <= 10_000, 'expires in Redis (PX)');
});

test('a tampered value, or one moved to another key, is a miss counted in errors, never a hit', { skip }, async (t) => {
  const redis = await startRedis(t);
  const { store, raw } = await makeStore(t, redis.url);
  await store.set(key(1), value(1), 10_000);
  const name = `${PREFIX}s:${key(1).toString('hex')}`;
  const sealed = await raw.getBuffer(name);
  assert.ok(sealed);
  for (const at of [0, 5, 20, sealed.length - 1]) {
    const bad = Buffer.from(sealed);
    bad[at] ^= 0x80;
    await raw.set(name, bad, 'PX', 10_000);
    const result = await store.get(key(1));
    assert.equal(result.value, undefined, `byte ${at} flipped`);
    assert.equal(result.miss, 'error');
  }
  // Moved: a valid sealed value under another session's key does not open there.
  await raw.set(`${PREFIX}s:${key(2).toString('hex')}`, sealed, 'PX', 10_000);
  assert.equal((await store.get(key(2))).miss, 'error');
  await raw.set(name, Buffer.from('plain garbage'), 'PX', 10_000);
  assert.equal((await store.get(key(1))).miss, 'error');
  const stats = store.stats();
  assert.equal(stats.tampered, 6);
  assert.equal(stats.errors, 6);
  assert.equal(stats.hits, 0);
  assert.equal(store.breakerState(), 'closed', 'tampering is not an outage');
  // The right bytes back under the right key open again.
  await raw.set(name, sealed, 'PX', 10_000);
  assert.deepEqual((await store.get(key(1))).value, value(1));
});

test('a value sealed by another node with the same key file opens; with another key it does not', { skip }, async (t) => {
  const redis = await startRedis(t);
  const { store, client } = await makeStore(t, redis.url);
  const shared = randomBytes(32);
  const a = new RedisStore(client, new Sealer([shared]), { prefix: PREFIX });
  const b = new RedisStore(client, new Sealer([randomBytes(32), shared]), { prefix: PREFIX });
  await a.set(key(1), value(1));
  assert.deepEqual((await b.get(key(1))).value, value(1));
  assert.equal((await store.get(key(1))).miss, 'error');
});

test('Redis paused (SIGSTOP): lookups time out within the bound, the breaker opens, then refuses at once; SIGCONT recovers by itself', { skip }, async (t) => {
  const redis = await startRedis(t);
  const { store } = await makeStore(t, redis.url, { timeout: 50, breakerErrors: 3, breakerBackoff: 200 });
  const changes: string[] = [];
  store.on('breaker', (state, previous) => changes.push(`${previous}->${state}`));
  await store.set(key(1), value(1), 60_000);
  redis.pause();
  t.after(() => redis.resume());
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const result = await store.get(key(1));
    const took = performance.now() - started;
    assert.equal(result.miss, 'timeout');
    assert.ok(took < 50 + 450, `answered in ${took.toFixed(1)} ms`);
  }
  assert.equal(store.breakerState(), 'open');
  assert.deepEqual(changes, ['closed->open']);
  // Refused without a call to Redis: counted as rejected, none of them a timeout.
  const before = store.stats();
  for (let i = 0; i < 100; i++) assert.equal((await store.get(key(1))).miss, 'error');
  assert.equal(store.stats().rejected, before.rejected + 100);
  assert.equal(store.stats().timeouts, before.timeouts);
  assert.equal(await store.set(key(2), value(2)), false);
  redis.resume();
  await eventually(async () => (await store.get(key(1))).value !== undefined);
  assert.equal(store.breakerState(), 'closed');
  assert.equal(changes.at(-1), 'half-open->closed');
  const stats = store.stats();
  assert.equal(stats.timeouts >= 3, true);
  assert.equal(stats.lookups, stats.hits + stats.misses);
});

test('Redis killed: misses are errors at once; restarted: recovers by itself', { skip }, async (t) => {
  const redis = await startRedis(t);
  const { store } = await makeStore(t, redis.url, { breakerErrors: 2, breakerBackoff: 100 });
  await store.set(key(1), value(1));
  await redis.kill();
  for (let i = 0; i < 5; i++) {
    const result = await store.get(key(1));
    assert.equal(result.value, undefined);
    assert.equal(result.miss, 'error');
  }
  assert.equal(store.breakerState(), 'open');
  assert.equal(await store.set(key(1), value(1)), false);
  await assert.rejects(store.clear(), { code: 'WS_ERR_SESSION_STORE_UNAVAILABLE' });
  await redis.restart();
  // The restarted Redis is empty: recovery shows as a store that sticks.
  await eventually(async () => (await store.set(key(1), value(1))) && (await store.get(key(1))).value !== undefined);
  assert.equal(store.breakerState(), 'closed');
});

test('clock skew against Redis TIME: near zero on one machine, reported above the threshold', { skip }, async (t) => {
  const redis = await startRedis(t);
  const client = await connect(t, { url: redis.url });
  const skew = await checkClockSkew(client);
  assert.ok(Math.abs(skew) < 1000, `skew ${skew}`);
  const ahead = await checkClockSkew(client, 1000, () => Date.now() + 5000);
  assert.ok(Math.abs(ahead - 5000) < 1000, `skew ${ahead}`);
  const warnings: number[] = [];
  const watch = watchClockSkew(client, { now: () => Date.now() - 3000, onSkew: (ms) => warnings.push(ms) });
  t.after(() => watch.stop());
  await watch.check();
  assert.equal(warnings.length, 2, 'warned at start and on the next check');
  assert.ok(warnings.every((ms) => ms < -2000));
});

test('Redis Cluster (3 masters): sessions spread over the slots, list and clear walk every master', { skip, timeout: 30_000 }, async (t) => {
  const cluster = await startRedisCluster(t);
  const client = await connect(t, { cluster: cluster.urls });
  const store = new RedisStore(client, new Sealer([randomBytes(32)]), { prefix: PREFIX, timeout: 200 });
  for (let i = 0; i < 30; i++) assert.equal(await store.set(key(i), value(i), 60_000), true);
  for (let i = 0; i < 30; i++) assert.deepEqual((await store.get(key(i))).value, value(i));
  const perNode = await Promise.all(cluster.ports.map(async (port) => {
    const node = new Redis(port, '127.0.0.1');
    try { return await node.dbsize(); } finally { node.disconnect(); }
  }));
  assert.equal(perNode.filter((n) => n > 0).length, 3, `keys per master: ${perNode.join(',')}`);
  assert.equal((await store.list(100)).length, 30);
  assert.equal(await store.clear(), 30);
  assert.equal((await store.get(key(1))).miss, 'unknown');
});

test('Redis Sentinel: the client finds the master through a Sentinel', { skip }, async (t) => {
  const master = await startRedis(t);
  const sentinel = await startRedisSentinel(t, master, 'warmshake-test');
  const client = await connect(t, { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'warmshake-test' });
  const store = new RedisStore(client, new Sealer([randomBytes(32)]), { prefix: PREFIX, timeout: 200 });
  assert.equal(await store.set(key(1), value(1)), true);
  assert.deepEqual((await store.get(key(1))).value, value(1));
  const direct = new Redis(master.url);
  t.after(() => direct.disconnect());
  assert.equal(await direct.exists(`${PREFIX}s:${key(1).toString('hex')}`), 1, 'stored on the master');
});
