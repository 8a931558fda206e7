// A new session's publish while Redis does not answer (redis-server stopped with SIGSTOP).
// On engine native the server's last flight (TLS 1.2 at its ChangeCipherSpec, TLS 1.3 at
// each stateful ticket) waits until the connection's publish has left for Redis
// (docs/native.md, "The last flight waits for the write"). "Left" means handed to the
// worker's Redis client, which writes it to its socket at once: a stopped Redis does not
// hold the flight (the write is in the socket; its reply never comes), so the handshake
// completes as usual, the client gets its session and resumes on the node that made it,
// and the write times out in the worker after `redis.timeout`. That timeout is not a
// lookup (`warmshake_session_cache_redis_timeouts_total` counts lookups only); it counts
// as a failed write (`warmshake_session_cache_redis_writes_total{result="error"}`) and as
// a breaker failure, so with `breaker_errors: 1` it shows as the breaker opening. The
// engine dropped nothing (`warmshake_native_redis_dropped_total{kind="publish"}` 0: the
// publish was handed over). Once Redis runs again (SIGCONT) and the breaker has closed,
// new sessions reach Redis and resume on the other node. Same on engine node, whose
// new-session callback hands the write to the same store.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePrometheus, sumOf } from '../admin/prom-parser.ts';
import { ENGINES } from '../helpers/engines.ts';
import { redisSkipReason } from '../helpers/missing-peers.ts';
import { sClient } from '../helpers/peers.ts';
import { redisCluster, type Cluster } from '../helpers/redis-nodes.ts';
import { waitUntil } from '../helpers/wait.ts';

const skip = redisSkipReason();

async function metric (c: Cluster, i: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumOf(parsePrometheus(await (await fetch(`${c.http[i]}/metrics`)).text()), name, labels);
}

for (const engine of ENGINES) {
  for (const tls of ['1.2', '1.3'] as const) {
    test(`[${engine}] TLS ${tls}, Redis stopped: a full handshake still completes with its session, the write's timeout opens the breaker, and sessions reach Redis again after it`, { skip }, async (t) => {
      // One failed write opens the breaker: the write's timeout becomes visible.
      const c = await redisCluster(t, 2, false, { timeout: '300ms', breaker_errors: 1 }, engine);
      const [a, b] = c.nodes.map((n) => n.ports.https);
      const noTicket = tls === '1.2';
      c.redis.pause();
      let paused = true;
      t.after(() => { if (paused) c.redis.resume(); });

      const sess = join(c.dir, 'paused.sess');
      const made = await sClient({ port: a, tls, sessOut: sess, noTicket });
      assert.equal(made.code, 0, made.stderr);
      assert.equal(made.fresh, 1, 'the handshake completed while Redis was stopped');
      assert.ok(existsSync(sess), 'the client got its session');
      await waitUntil(async () => await metric(c, 0, 'warmshake_session_cache_redis_breaker_state', { worker: '0' }) === 2 || undefined,
        'the Redis write timed out and opened the breaker');
      await waitUntil(async () => await metric(c, 0, 'warmshake_session_cache_redis_writes_total', { result: 'error' }) >= 1 || undefined,
        'the failed write counted');
      assert.equal(await metric(c, 0, 'warmshake_session_cache_redis_writes_total', { result: 'ok' }), 0, 'nothing was written while Redis was stopped');
      // The node that made it holds it in its shared memory: it resumes there without Redis.
      const local = await sClient({ port: a, tls, sessIn: sess, noTicket });
      assert.equal(local.code, 0, local.stderr);
      assert.equal(local.reused, 1, 'the session resumed on the node that made it while Redis was stopped');
      if (engine === 'native') {
        assert.equal(await metric(c, 0, 'warmshake_native_redis_dropped_total', { kind: 'publish' }), 0, 'handed to the worker, not dropped');
      }

      c.redis.resume();
      paused = false;
      // After the breaker's backoff a write goes through again: a new session from A resumes on B.
      let round = 0;
      await waitUntil(async () => {
        const fresh = join(c.dir, `after${round++}.sess`);
        const r = await sClient({ port: a, tls, sessOut: fresh, noTicket });
        assert.equal(r.fresh, 1, r.stderr);
        return (await sClient({ port: b, tls, sessIn: fresh, noTicket })).reused === 1 || undefined;
      }, 'a session made after Redis came back resumes on the other node', undefined, 100);
      assert.equal(await metric(c, 0, 'warmshake_session_cache_redis_breaker_state', { worker: '0' }), 0, 'breaker closed again');
      await waitUntil(async () => await metric(c, 0, 'warmshake_session_cache_redis_writes_total', { result: 'ok' }) >= 1 || undefined,
        'the write that reached Redis counted');
    });
  }
}
