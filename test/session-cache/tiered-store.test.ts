// The shared-memory tier in front of a real Redis tier: what one node and two nodes see.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import type { TestContext } from 'node:test';
import { createRedisClient, waitReady } from '../../src/redis/client.ts';
import type { RedisClient } from '../../src/redis/client.ts';
import { RedisStore } from '../../src/session-cache/redis-store.ts';
import { Sealer } from '../../src/redis/seal.ts';
import { SharedMemoryStore } from '../../src/session-cache/shared-memory-store.ts';
import { DEFAULT_STORE_OPTIONS } from '../../src/session-cache/store.ts';
import type { LookupResult, SessionStore, StoreEntryInfo, StoreStats } from '../../src/session-cache/store.ts';
import { TieredStore } from '../../src/session-cache/tiered-store.ts';
import { redisSkipReason, startRedis } from '../../bench/redis-server.ts';
import type { RedisHandle } from '../../bench/redis-server.ts';
import { storeConformance } from './conformance.ts';

const skip = redisSkipReason();
const key = (n: number): Buffer => Buffer.from(`session-${n}`.padEnd(32, '.'));
const value = (n: number): Buffer => Buffer.from(`value ${n} ${'v'.repeat(100)}`);

async function client (t: TestContext, url: string): Promise<RedisClient> {
  const c = createRedisClient({ url }, { minReconnectDelay: 20, maxReconnectDelay: 100 });
  t.after(() => c.disconnect());
  assert.equal(await waitReady(c, 5000), true);
  return c;
}

/** One node: its own shared-memory tier, the common Redis tier. */
function node (redis: RedisClient, sealKey: Buffer): { tiered: TieredStore; fast: SharedMemoryStore; slow: RedisStore } {
  const fast = SharedMemoryStore.create({ ...DEFAULT_STORE_OPTIONS, size: 1000 });
  const slow = new RedisStore(redis, new Sealer([sealKey]), { prefix: 'test:', timeout: 50, breakerErrors: 3, breakerBackoff: 200 });
  return { tiered: new TieredStore(fast, slow), fast, slow };
}

async function setup (t: TestContext): Promise<{ redis: RedisHandle; c: RedisClient; sealKey: Buffer }> {
  const redis = await startRedis(t);
  return { redis, c: await client(t, redis.url), sealKey: randomBytes(32) };
}

// The shared conformance suite on the whole stack: shared memory in front of a real
// Redis (one server, a fresh prefix per store). The fast tier's stats are the ones
// reported; an entry the fast tier evicts is still in Redis, so no oldest-first check.
if (!skip) {
  const redis = await startRedis();
  after(() => redis.stop());
  const shared = createRedisClient({ url: redis.url });
  after(() => shared.disconnect());
  await waitReady(shared, 5000);
  let stores = 0;
  storeConformance('tiered store (shared memory + redis)', (options) => new TieredStore(
    SharedMemoryStore.create(options),
    new RedisStore(shared, new Sealer([randomBytes(32)]), { ...options, prefix: `c${stores++}:`, timeout: 200 }),
  ), { expiredMiss: 'expired', evictsOldest: false });
}

test('set: the fast tier at once, the slow tier behind; get answers from the fast tier', { skip }, async (t) => {
  const { c, sealKey } = await setup(t);
  const { tiered, fast, slow } = node(c, sealKey);
  assert.equal(await tiered.set(key(1), value(1), 60_000), true);
  assert.deepEqual((await fast.get(key(1))).value, value(1), 'in the fast tier when set resolves');
  await tiered.flush();
  assert.deepEqual((await slow.get(key(1))).value, value(1));
  const hit = await tiered.get(key(1));
  assert.equal(hit.tier, 'shared');
  assert.deepEqual(hit.value, value(1));
});

test('another node: a slow-tier hit fills the fast tier with the remaining ttl', { skip }, async (t) => {
  const { c, sealKey } = await setup(t);
  const a = node(c, sealKey);
  const b = node(c, sealKey);
  await a.tiered.set(key(1), value(1), 60_000);
  await a.tiered.flush();
  const first = await b.tiered.get(key(1));
  assert.equal(first.tier, 'redis');
  assert.deepEqual(first.value, value(1));
  assert.ok(first.ttl !== undefined && first.ttl <= 60_000);
  const filled = await b.fast.get(key(1));
  assert.deepEqual(filled.value, value(1));
  assert.ok(filled.ttl !== undefined && filled.ttl <= first.ttl + 1, `filled ttl ${filled.ttl} vs remaining ${first.ttl}`);
  assert.equal((await b.tiered.get(key(1))).tier, 'shared', 'the next lookup stays local');
  const stats = b.tiered.stats();
  assert.equal(stats.fills, 1);
  assert.equal(stats.tier, 'tiered');
  assert.equal(stats.hits, b.fast.stats().hits, "the fast tier's numbers");
  assert.equal(stats.lookups, b.fast.stats().lookups);
  assert.equal(stats.tiers.slow.lookups, 1);
  assert.equal(stats.tiers.slow.hits, 1);
});

test('a miss in both tiers is the store\'s, with the slow tier\'s reason', { skip }, async (t) => {
  const { redis, c, sealKey } = await setup(t);
  const { tiered } = node(c, sealKey);
  assert.deepEqual(await tiered.get(key(7)), { miss: 'unknown', tier: 'tiered' });
  redis.pause();
  t.after(() => redis.resume());
  assert.deepEqual(await tiered.get(key(7)), { miss: 'timeout', tier: 'tiered' });
  redis.resume();
});

test('delete removes from both tiers; clear empties both; list merges each key once', { skip }, async (t) => {
  const { c, sealKey } = await setup(t);
  const a = node(c, sealKey);
  const b = node(c, sealKey);
  await a.tiered.set(key(1), value(1));
  await a.tiered.set(key(2), value(2));
  await b.tiered.set(key(3), value(3));
  await Promise.all([a.tiered.flush(), b.tiered.flush()]);
  const listed = (await a.tiered.list(10)).map((e) => e.key.toString()).sort();
  assert.deepEqual(listed, [key(1), key(2), key(3)].map(String).sort());
  assert.equal(await a.tiered.delete(key(1)), true);
  assert.equal((await a.fast.get(key(1))).value, undefined);
  assert.equal((await a.slow.get(key(1))).value, undefined);
  assert.equal(await a.tiered.clear(), 2, 'the larger tier: two in Redis (one of them also in the fast tier)');
  assert.equal((await b.tiered.get(key(3))).tier, 'shared', "another node's fast tier is its own");
  assert.equal((await a.tiered.get(key(3))).miss, 'unknown');
});

test('Redis paused: set still resolves from the fast tier, the lost write is counted; lookups are bounded', { skip }, async (t) => {
  const { redis, c, sealKey } = await setup(t);
  const { tiered } = node(c, sealKey);
  redis.pause();
  t.after(() => redis.resume());
  assert.equal(await tiered.set(key(1), value(1)), true);
  assert.deepEqual((await tiered.get(key(1))).value, value(1));
  const started = performance.now();
  const miss = await tiered.get(key(2));
  assert.equal(miss.miss, 'timeout');
  assert.ok(performance.now() - started < 500, 'bounded by the Redis timeout');
  await tiered.flush();
  assert.equal(tiered.stats().slowWriteFailures, 1);
  redis.resume();
});

test('a slow tier that breaks its contract (rejects, throws) is counted, never thrown', async () => {
  const fast = SharedMemoryStore.create({ ...DEFAULT_STORE_OPTIONS, size: 100 });
  const tiered = new TieredStore(fast, new BrokenStore());
  assert.equal(await tiered.set(key(1), value(1)), true);
  assert.equal(await tiered.set(key(2), value(2)), true);
  await tiered.flush();
  assert.equal(tiered.stats().slowWriteFailures, 2);
  assert.deepEqual((await tiered.list(10)).length, 2, 'list falls back to the fast tier');
  assert.equal(await tiered.delete(key(1)), true);
  await tiered.close();
});

/** Rejects every call: a stand-in for a buggy tier, not for Redis. */
class BrokenStore implements SessionStore {
  readonly tier = 'broken';
  get (): Promise<LookupResult> { return Promise.reject(new Error('broken')); }
  set (): Promise<boolean> { throw new Error('broken synchronously'); }
  delete (): Promise<boolean> { return Promise.reject(new Error('broken')); }
  clear (): Promise<number> { return Promise.reject(new Error('broken')); }
  list (): Promise<StoreEntryInfo[]> { return Promise.reject(new Error('broken')); }
  stats (): StoreStats { return { tier: this.tier, entries: 0, capacity: 0, bytes: 0, lookups: 0, hits: 0, misses: 0, expired: 0, stores: 0, evictions: 0, oversize: 0, errors: 0 }; }
  close (): Promise<void> { return Promise.resolve(); }
}
