// The Redis tier's lookup never holds the data plane (issue 11 item 5): with Redis stopped
// (SIGSTOP) a resumption that needs it completes as a full handshake within
// `redis.timeout`, other clients of the same node are served meanwhile, and after an
// empty Redis restart the sessions a node holds itself still resume there. Both engines:
// on engine native the lookup suspends the OpenSSL handshake in the C loop while the
// worker asks Redis. Real warmshake processes, a real redis-server, openssl s_client.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePrometheus, sumOf } from '../admin/prom-parser.ts';
import { ENGINES } from '../helpers/engines.ts';
import { redisSkipReason } from '../helpers/missing-peers.ts';
import { PY_TLS_CONTEXT, pythonResume, run, sClient } from '../helpers/peers.ts';
import { redisCluster } from '../helpers/redis-nodes.ts';
import { waitUntil, WAIT_GUARD_MS } from '../helpers/wait.ts';

const skip = redisSkipReason();

// A session from node A, then `count` clients offering it to node B that hang up after
// 300 ms, well before B's lookup in the stopped Redis can end (3 s): prints how many
// timed out in the handshake (every one should).
const HANG_UP = String.raw`
import socket, ssl, sys
a, b, version, count = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
${PY_TLS_CONTEXT}
with socket.create_connection(('127.0.0.1', a)) as raw:
    with ctx.wrap_socket(raw, server_hostname='localhost') as s:
        s.sendall(b'GET / HTTP/1.0\r\n\r\n')
        while s.recv(65536):
            pass
        session = s.session
hung = 0
for i in range(count):
    raw = socket.create_connection(('127.0.0.1', b))
    raw.settimeout(0.3)
    s = ctx.wrap_socket(raw, server_hostname='localhost', session=session, do_handshake_on_connect=False)
    try:
        s.do_handshake()
    except socket.timeout:
        hung += 1
    s.close()
print(hung)
`;

for (const engine of ENGINES) {
  for (const tls of ['1.2', '1.3'] as const) {
    test(`[${engine}] TLS ${tls}, Redis stopped: the lookup ends full at redis.timeout, and the node serves other clients meanwhile`, { skip }, async (t) => {
      // A long deadline, so the other clients below certainly run while the lookup waits.
      const c = await redisCluster(t, 2, false, { timeout: '3s' }, engine);
      const [a, b] = c.nodes.map((n) => n.ports.https);
      const sess = join(c.dir, 'a.sess');
      assert.equal((await sClient({ port: a, tls, sessOut: sess, noTicket: tls === '1.2' })).fresh, 1);
      c.redis.pause();
      t.after(() => c.redis.resume());
      // Node B never saw the session: it must ask the stopped Redis.
      let settled = false;
      const waiting = sClient({ port: b, tls, sessIn: sess, noTicket: tls === '1.2' }).finally(() => { settled = true; });
      let served = 0;
      while (!settled) {
        // Full handshakes with no session offered: no lookup, nothing to wait for.
        const other = await pythonResume(b, tls, 1);
        assert.deepEqual(other, [false]);
        if (!settled) served++;
      }
      const r = await waiting;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.fresh, 1, 'a full handshake, not a hang');
      assert.ok(served >= 1, 'clients of the same node were served while the lookup waited');
      await c.nodes[1].waitForLog((l) => l.resumed === false && l.miss === 'store_timeout');
      // Counted too (the resumption alert's `redis` cause reads the counters, not the logs).
      await waitUntil(async () => sumOf(parsePrometheus(await (await fetch(`${c.http[1]}/metrics`)).text()),
        'warmshake_resumption_misses_total', { cause: 'store_timeout' }) === 1 || undefined, 'the store_timeout miss counted', WAIT_GUARD_MS, 100);
    });
  }

  test(`[${engine}] an empty Redis restart: sessions a node holds resume there, and cross-node resumption comes back`, { skip }, async (t) => {
    const c = await redisCluster(t, 2, false, {}, engine);
    const [a, b] = c.nodes.map((n) => n.ports.https);
    const ids = join(c.dir, 'id.sess');
    const stateful = join(c.dir, 'stateful.sess');
    assert.equal((await sClient({ port: a, tls: '1.2', noTicket: true, sessOut: ids })).fresh, 1);
    assert.equal((await sClient({ port: a, tls: '1.3', sessOut: stateful })).fresh, 1);
    await c.redis.restart();
    assert.equal((await sClient({ port: a, tls: '1.2', noTicket: true, sessIn: ids })).reused, 1, 'TLS 1.2 on the node that made it');
    assert.equal((await sClient({ port: a, tls: '1.3', sessIn: stateful })).reused, 1, 'TLS 1.3 stateful on the node that made it');
    // New sessions reach the new Redis: roaming resumes again (the client reconnects at
    // once; the breaker may still be open for a moment after the restart).
    for (const tls of ['1.2', '1.3'] as const) {
      const roam = await waitUntil(async () => {
        const round = await pythonResume([a, b], tls, 4);
        return round.slice(1).every(Boolean) && round;
      }, `TLS ${tls} resumption across nodes after the restart`, WAIT_GUARD_MS, 250);
      assert.deepEqual(roam, [false, true, true, true]);
    }
  });

  test(`[${engine}] clients that hang up while their Redis lookup waits cost nothing: the node serves on, resumes once Redis is back`, { skip }, async (t) => {
    // The breaker stays closed: every lookup waits for Redis (none is refused at once).
    const c = await redisCluster(t, 2, false, { timeout: '3s', breaker_errors: 1000 }, engine);
    const [a, b] = c.nodes.map((n) => n.ports.https);
    c.redis.pause();
    t.after(() => c.redis.resume());
    const r = await run('python3', ['-c', HANG_UP, String(a), String(b), '1.2', '20']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '20', 'every client hung up during its handshake');
    assert.deepEqual(await pythonResume(b, '1.3', 1), [false], 'node B serves');
    c.redis.resume();
    // The answers for the closed connections come back to nothing; resumption across nodes works.
    const roam = await waitUntil(async () => {
      const round = await pythonResume([a, b], '1.2', 4);
      return round.slice(1).every(Boolean) && round;
    }, 'resumption across nodes with Redis back', WAIT_GUARD_MS, 250);
    assert.deepEqual(roam, [false, true, true, true]);
  });
}
