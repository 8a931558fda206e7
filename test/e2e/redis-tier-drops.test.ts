// What the native engine's Redis tier drops is counted (docs/native.md, "Bounds and
// safety"): at most 256 lookups wait per engine and 1,024 messages queue for the worker;
// past those bounds a local miss goes on full without asking Redis and a new session is
// not published. Each drop is a word in the engine's shared counters, shown as
// warmshake_native_redis_dropped_total{worker,kind} and `show info` SslCacheRedisDropped.
// The bounds are made small for these tests only (WARMSHAKE_NATIVE_TIER_PENDING,
// WARMSHAKE_NATIVE_TIER_QUEUE). Real nodes, a real redis-server, openssl s_client.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { loadAddon } from '../../src/native/addon.ts';
import { parseInfo } from '../admin/helpers.ts';
import { parsePrometheus, sumOf } from '../admin/prom-parser.ts';
import { redisSkipReason, skipBecause } from '../helpers/missing-peers.ts';
import { sClient } from '../helpers/peers.ts';
import { redisCluster, type Cluster } from '../helpers/redis-nodes.ts';
import { waitUntil } from '../helpers/wait.ts';
import { testEnv } from '../helpers/warmshake.ts';

const loaded = loadAddon();
const skip = redisSkipReason() || (loaded.ok ? false : skipBecause(`native addon not loaded: ${loaded.ok ? '' : loaded.reason}`));

/** A node's /metrics, summed for one family and label match. */
async function metric (c: Cluster, node: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumOf(parsePrometheus(await (await fetch(`${c.http[node]}/metrics`)).text()), name, labels);
}

const DROPPED = 'warmshake_native_redis_dropped_total';

test('[native] past the pending-lookup cap a local miss goes on full without asking Redis, and is counted', { skip }, async (t) => {
  testEnv(t, 'WARMSHAKE_NATIVE_TIER_PENDING', '1');
  // Redis is paused below: a long deadline and a breaker that never opens keep the one
  // lookup that was asked waiting until Redis is back.
  const c = await redisCluster(t, 2, false, { timeout: '10s', breaker_errors: 1000 }, 'native');
  const [a, b] = c.nodes.map((n) => n.ports.https);
  const sess = join(c.dir, 'a.sess');
  assert.equal((await sClient({ port: a, tls: '1.2', noTicket: true, sessOut: sess })).fresh, 1);
  c.redis.pause();
  t.after(() => c.redis.resume());
  // Four clients offer node A's session to node B at once: the first to reach B's
  // ClientHello callback takes the one lookup slot and waits for Redis; the three others
  // find the cap reached and go on full at once.
  const clients = Array.from({ length: 4 }, () => sClient({ port: b, tls: '1.2', noTicket: true, sessIn: sess }));
  await waitUntil(async () => await metric(c, 1, DROPPED, { kind: 'lookup' }) >= 3, 'three lookups dropped on node B', undefined, 100);
  c.redis.resume();
  const runs = await Promise.all(clients);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(runs.map((r) => r.reused).sort(), [0, 0, 0, 1], 'the one asked resumes from Redis, the three dropped go full');
  assert.equal(await metric(c, 1, DROPPED, { kind: 'lookup' }), 3);
  assert.equal(await metric(c, 1, DROPPED), 3, 'nothing else dropped');
  assert.equal(await metric(c, 1, 'warmshake_session_cache_lookups_total', { tier: 'redis' }), 1, 'one lookup reached Redis');
  const info = parseInfo(await sendAdminCommand(c.sockets[1], 'show info'));
  assert.equal(info.get('SslCacheRedisDropped'), '3');
  assert.equal(parseInfo(await sendAdminCommand(c.sockets[0], 'show info')).get('SslCacheRedisDropped'), '0');
});

test('[native] with the queue to the worker full, new sessions are not published and lookups not asked, each counted', { skip }, async (t) => {
  testEnv(t, 'WARMSHAKE_NATIVE_TIER_QUEUE', '0');
  const c = await redisCluster(t, 2, false, {}, 'native');
  const [a, b] = c.nodes.map((n) => n.ports.https);
  const sess = join(c.dir, 'a.sess');
  for (let i = 0; i < 3; i++) assert.equal((await sClient({ port: a, tls: '1.2', noTicket: true, sessOut: sess })).fresh, 1);
  await waitUntil(async () => await metric(c, 0, DROPPED, { kind: 'publish' }) >= 3, 'three publishes dropped on node A', undefined, 100);
  // Node A still resumes its own session (the shared memory has it); node B cannot reach it.
  assert.equal((await sClient({ port: a, tls: '1.2', noTicket: true, sessIn: sess })).reused, 1);
  assert.equal((await sClient({ port: b, tls: '1.2', noTicket: true, sessIn: sess })).fresh, 1);
  await waitUntil(async () => await metric(c, 1, DROPPED, { kind: 'lookup' }) >= 1, 'the lookup dropped on node B', undefined, 100);
  assert.equal(await metric(c, 0, DROPPED, { kind: 'publish' }), 3);
  assert.equal(await metric(c, 0, DROPPED), 3);
  assert.equal(await metric(c, 1, DROPPED, { kind: 'lookup' }), 1);
  assert.equal(await metric(c, 1, 'warmshake_session_cache_lookups_total', { tier: 'redis' }), 0, 'no lookup reached Redis');
  assert.equal(parseInfo(await sendAdminCommand(c.sockets[0], 'show info')).get('SslCacheRedisDropped'), '3');
});
