// The Redis tier as the operator sees it (issue 12): real warmshake processes, a real
// redis-server, openssl s_client, the admin socket and /metrics over HTTP. The series
// are the workers' own (nothing here writes a counter).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { eventually, parseInfo } from '../admin/helpers.ts';
import { parsePrometheus, sumOf } from '../admin/prom-parser.ts';
import { sClient } from '../helpers/peers.ts';
import { redisCluster } from '../helpers/redis-nodes.ts';
import { redisSkipReason } from '../helpers/missing-peers.ts';
import { ENGINES } from '../helpers/engines.ts';

const skip = redisSkipReason();

const metrics = async (base: string) => parsePrometheus(await (await fetch(`${base}/metrics`)).text());
const info = async (socket: string) => parseInfo(await sendAdminCommand(socket, 'show info'));

for (const engine of ENGINES) {
  test(`[${engine}] a session made on node B, missed by node A's shared tier, is a Redis hit in A's /metrics and show info`, { skip }, async (t) => {
    const c = await redisCluster(t, 2, false, {}, engine);
    const [a, b] = c.nodes.map((n) => n.ports.https);
    const sess = join(c.dir, 'b.sess');
    assert.equal((await sClient({ port: b, tls: '1.2', noTicket: true, sessOut: sess })).fresh, 1);
    // The session reaches Redis in the background; node A resumes it once it is there.
    await eventually(async () => ((await sClient({ port: a, tls: '1.2', noTicket: true, sessIn: sess })).reused === 1 ? true : undefined), 'resumed on node A', 40);

    const m = await metrics(c.http[0]);
    assert.ok(sumOf(m, 'warmshake_session_cache_lookups_total', { tier: 'redis', result: 'hit' }) >= 1, 'tier="redis",result="hit"');
    assert.ok(sumOf(m, 'warmshake_session_cache_lookups_total', { tier: 'shared', result: 'miss' }) >= 1, 'the shared tier missed first');
    assert.ok(sumOf(m, 'warmshake_session_cache_redis_latency_seconds_count') >= 1, 'latency histogram');
    assert.equal(sumOf(m, 'warmshake_session_cache_redis_breaker_state', { worker: '0' }), 0, 'breaker closed');
    const i = await info(c.sockets[0]);
    assert.ok(Number(i.get('SslCacheRedisHits')) >= 1, `SslCacheRedisHits ${i.get('SslCacheRedisHits')}`);
    assert.equal(i.get('SslCacheRedisBreaker'), 'closed');
    assert.equal(i.get('SslCacheRedisTimeouts'), '0');
  });

  test(`[${engine}] a stopped Redis shows as timeouts and an open breaker in /metrics and show info`, { skip }, async (t) => {
    // A long backoff: the breaker stays open while the test reads it.
    const c = await redisCluster(t, 1, false, { breaker_backoff: '60s' }, engine);
    const [a] = c.nodes.map((n) => n.ports.https);
    const sess = join(c.dir, 'a.sess');
    await sClient({ port: a, tls: '1.2', noTicket: true, sessOut: sess });
    await sendAdminCommand(c.sockets[0], 'clear sessions');
    c.redis.pause();
    // Each offer of the cleared session misses the shared tier and asks the stopped Redis.
    for (let i = 0; i < 8; i++) assert.equal((await sClient({ port: a, tls: '1.2', noTicket: true, sessIn: sess })).fresh, 1, 'full handshakes, none failed');
    await c.nodes[0].waitForLog((l) => /breaker closed -> open/.test(l.msg));
    const m = await metrics(c.http[0]);
    assert.ok(sumOf(m, 'warmshake_session_cache_redis_timeouts_total') >= 1, 'timeouts counted');
    assert.ok(sumOf(m, 'warmshake_session_cache_lookups_total', { tier: 'redis', result: 'error' }) >= 1, 'errors counted');
    assert.equal(sumOf(m, 'warmshake_session_cache_redis_breaker_state', { worker: '0' }), 2, 'breaker open');
    const i = await info(c.sockets[0]);
    assert.ok(Number(i.get('SslCacheRedisTimeouts')) >= 1);
    assert.equal(i.get('SslCacheRedisBreaker'), 'open');
    // The admin commands say which tier failed (docs/errors.md: WS_ERR_SESSION_STORE_UNAVAILABLE).
    assert.match(await sendAdminCommand(c.sockets[0], 'show sessions'), /^# id bytes age ttl tier \(\d+ shown; shared: \d+ entries; redis: unavailable \(redis did not answer within \d+ ms\)\)\n/);
    assert.match(await sendAdminCommand(c.sockets[0], 'clear sessions'), /^Error: redis tier not cleared \(redis did not answer within \d+ ms\); nothing cleared\n$/);
  });

  test(`[${engine}] clear sessions on one node empties Redis and every node's shared tier: the next handshake is full on both`, { skip }, async (t) => {
    const c = await redisCluster(t, 2, false, {}, engine);
    const [a, b] = c.nodes.map((n) => n.ports.https);
    const sess = join(c.dir, 'a.sess');
    await sClient({ port: a, tls: '1.2', noTicket: true, sessOut: sess });
    // Node B copies the session from Redis into its own shared tier.
    await eventually(async () => ((await sClient({ port: b, tls: '1.2', noTicket: true, sessIn: sess })).reused === 1 ? true : undefined), 'resumed on node B', 40);
    assert.equal((await sClient({ port: b, tls: '1.2', noTicket: true, sessIn: sess })).reused, 1, 'now from B\'s shared tier');

    const shown = await sendAdminCommand(c.sockets[0], 'show sessions');
    assert.match(shown, /^# id bytes age ttl tier \(1 shown; shared: 1 entries; redis: 1 listed\)\n[0-9a-f]{16}… .* tier=shared\+redis\n$/);
    const answer = await sendAdminCommand(c.sockets[0], 'clear sessions');
    assert.match(answer, /^cleared 1 sessions \(shared: 1; redis: 1\)\n$/);
    await c.nodes[1].waitForLog((l) => l.msg === 'session cache cleared: another node ran clear sessions');

    assert.equal((await sClient({ port: a, tls: '1.2', noTicket: true, sessIn: sess })).fresh, 1, 'full handshake on node A');
    assert.equal((await sClient({ port: b, tls: '1.2', noTicket: true, sessIn: sess })).fresh, 1, 'full handshake on node B');
  });
}
