// A HelloRetryRequest on the Redis tier's path. A TLS 1.3 client whose first key share is
// for a group the server does not prefer (openssl s_client -groups P-521:X25519: a P-521
// share, X25519 offered; the server's default groups rank X25519 higher) gets an HRR and
// sends a second ClientHello, so the server's ClientHello callback runs twice for one
// connection. On engine native that callback is where a local miss asks Redis and
// suspends the handshake (docs/native.md): the second ClientHello must not ask again, and
// the answer to the first must still resume the session. Two nodes on one real
// redis-server: sessions made on node A resume on node B through Redis with an HRR on
// both connections, one Redis lookup per connection; stateless tickets (keys shared
// through Redis) resume across nodes with an HRR too. `npm run test:asan` runs it on the
// sanitizer build. Engine node too: OpenSSL asks for the PSK's session once per
// ClientHello and Node hands over what resumeSession loaded only once, so engine node
// loads it again for the second ClientHello (src/tls/node-tls.ts reloadSession).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { ENGINES } from '../helpers/engines.ts';
import { parsePrometheus, sumOf } from '../admin/prom-parser.ts';
import { redisSkipReason } from '../helpers/missing-peers.ts';
import { sClient } from '../helpers/peers.ts';
import { redisCluster, type Cluster } from '../helpers/redis-nodes.ts';

const skip = redisSkipReason();

/** A P-521 key share first: the server answers with a HelloRetryRequest for X25519. */
const HRR = ['-groups', 'P-521:X25519', '-msg'];

/** ClientHellos the client sent (`-msg`): 2 after a HelloRetryRequest. */
const clientHellos = (stdout: string): number => (stdout.match(/^>>> .*ClientHello/gm) ?? []).length;

/** Node `i`'s Redis lookups so far, by result (`hit`, `miss`, `error`) or all. */
async function redisLookups (c: Cluster, i: number, result?: string): Promise<number> {
  const families = parsePrometheus(await (await fetch(`${c.http[i]}/metrics`)).text());
  return sumOf(families, 'warmshake_session_cache_lookups_total', { tier: 'redis', ...(result ? { result } : {}) });
}

for (const engine of ENGINES) {
  test(`[${engine}] TLS 1.3 stateful tickets with a HelloRetryRequest: node A's sessions resume on node B through Redis, one lookup per connection`, { skip }, async (t) => {
    const c = await redisCluster(t, 2, false, {}, engine);
    const [a, b] = c.nodes.map((n) => n.ports.https);
    const rounds = 3;
    for (let i = 0; i < rounds; i++) {
      const sess = join(c.dir, `a${i}.sess`);
      const made = await sClient({ port: a, tls: '1.3', sessOut: sess, extra: HRR });
      assert.equal(made.code, 0, made.stderr);
      assert.equal(made.fresh, 1, 'a full handshake on node A');
      assert.equal(clientHellos(made.stdout), 2, 'node A answered the P-521 share with a HelloRetryRequest');
      const resumed = await sClient({ port: b, tls: '1.3', sessIn: sess, extra: HRR });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(clientHellos(resumed.stdout), 2, 'node B answered the P-521 share with a HelloRetryRequest');
      assert.equal(resumed.reused, 1, `round ${i}: node A's session resumed on node B after the HelloRetryRequest`);
      // Two ClientHellos, one Redis lookup (the counter is written before the answer, so it is there now).
      assert.equal(await redisLookups(c, 1), i + 1, `round ${i}: one Redis lookup per connection`);
      assert.equal(await redisLookups(c, 1, 'hit'), i + 1);
    }
    await c.nodes[1].waitForLog((l) => l.resumed === true && l.method === 'stateful_ticket');

    // A session neither tier has (node B's own, then `clear sessions`: Redis and the
    // shared memory emptied) is asked of Redis once and goes on full.
    const lost = join(c.dir, 'lost.sess');
    assert.equal((await sClient({ port: b, tls: '1.3', sessOut: lost, extra: HRR })).fresh, 1);
    await sendAdminCommand(c.sockets[1], 'clear sessions');
    const before = await redisLookups(c, 1);
    const missed = await sClient({ port: b, tls: '1.3', sessIn: lost, extra: HRR });
    assert.equal(missed.code, 0, missed.stderr);
    assert.equal(clientHellos(missed.stdout), 2);
    assert.equal(missed.fresh, 1, 'no session to resume: a full handshake');
    assert.equal(await redisLookups(c, 1) - before, 1, 'one Redis lookup for the two ClientHellos');
  });

  test(`[${engine}] TLS 1.3 stateless tickets with a HelloRetryRequest: node A's tickets resume on node B, no Redis lookup`, { skip }, async (t) => {
    const c = await redisCluster(t, 2, true, {}, engine);
    const [a, b] = c.nodes.map((n) => n.ports.https);
    const sess = join(c.dir, 'ticket.sess');
    const made = await sClient({ port: a, tls: '1.3', sessOut: sess, extra: HRR });
    assert.equal(made.fresh, 1);
    assert.equal(clientHellos(made.stdout), 2);
    for (const port of [b, a, b]) {
      const resumed = await sClient({ port, tls: '1.3', sessIn: sess, extra: HRR });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(clientHellos(resumed.stdout), 2);
      assert.equal(resumed.reused, 1, `port ${port}: the ticket resumed after the HelloRetryRequest`);
    }
    assert.equal(await redisLookups(c, 1), 0, 'a ticket is decrypted, not looked up');
    await c.nodes[1].waitForLog((l) => l.resumed === true && l.method === 'ticket');
  });
}
