// The held last flight's deadline (engine native, docs/native.md "The last flight waits
// for the write"). The server's last flight (TLS 1.2 at its ChangeCipherSpec, TLS 1.3 at
// each stateful ticket) waits in OpenSSL until the worker's JS says the connection's
// publish has left for Redis, at most `redis.timeout` + 100 ms. A stopped Redis does not
// reach that bound (the worker hands the write to its client's socket at once and says so:
// redis-paused-publish.test.ts); a worker whose JS does not run does. So the worker's JS
// thread is paused with the V8 inspector (the process runs with --inspect on a port of its
// own choosing, found through /proc; Debugger.pause in the worker's session stops it at
// its next JS statement, so the publish is not drained), while the C thread goes on:
// the full handshake must complete, released at the deadline (neither hung nor cut), and
// the client gets its session. Once the worker runs again it sends the late publish: the
// session made during the pause resumes on another node through Redis. The expired hold
// is counted (`warmshake_native_redis_dropped_total{kind="hold"}`), nothing else. With
// the queue to the worker bounded to one (WARMSHAKE_NATIVE_TIER_QUEUE), a second session
// made meanwhile finds it full: dropped and counted, never held, never in Redis. Engine
// node has no such hold: its TLS runs on the worker's JS thread.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parsePrometheus, sumOf } from '../admin/prom-parser.ts';
import { ENGINES } from '../helpers/engines.ts';
import { redisSkipReason } from '../helpers/missing-peers.ts';
import { sClient } from '../helpers/peers.ts';
import { redisCluster, type Cluster } from '../helpers/redis-nodes.ts';
import { waitUntil } from '../helpers/wait.ts';
import { testEnv } from '../helpers/warmshake.ts';

const skip = redisSkipReason() || (!ENGINES.includes('native') && 'native addon not loaded');

/** The TCP ports process `pid` listens on (its socket inodes matched in /proc/net/tcp). */
function listeningPorts (pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try { const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`)); if (m) inodes.add(m[1]); } catch { /* closed meanwhile */ }
  }
  return readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/))
    .filter((f) => f[3] === '0A' && inodes.has(f[9])).map((f) => parseInt(f[1].split(':')[1], 16));
}

/** The inspector of process `pid`: its WebSocket, found by asking each of its ports for /json/list. */
async function inspectorUrl (pid: number): Promise<string> {
  for (const port of listeningPorts(pid)) {
    try {
      const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<{ webSocketDebuggerUrl?: string }>;
      if (list[0]?.webSocketDebuggerUrl) return list[0].webSocketDebuggerUrl;
    } catch { /* not the inspector */ }
  }
  throw new Error(`process ${pid}: no inspector among its listening ports`);
}

/** The worker threads of a process, through its main inspector session (NodeWorker domain). */
class Workers {
  readonly #ws: WebSocket;
  readonly #seen: Array<{ session?: string; method?: string; params?: Record<string, unknown> }> = [];
  readonly #waiters = new Set<() => void>();
  #id = 0;

  private constructor (ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (e) => {
      const m = JSON.parse(String(e.data)) as { method?: string; params?: Record<string, unknown> };
      // A worker's own messages come wrapped; unwrap them with the session they came from.
      if (m.method === 'NodeWorker.receivedMessageFromWorker') {
        this.#seen.push({ session: String(m.params!.sessionId), ...JSON.parse(String(m.params!.message)) as object });
      } else this.#seen.push(m);
      for (const w of this.#waiters) w();
    });
  }

  static async attach (url: string): Promise<Workers> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
    const w = new Workers(ws);
    w.#send('NodeWorker.enable', { waitForDebuggerOnStart: false });
    return w;
  }

  /** The first message (past or future) that matches. */
  next (match: (m: { session?: string; method?: string; params?: Record<string, unknown> }) => boolean, what: string): Promise<{ session?: string; params?: Record<string, unknown> }> {
    return waitUntil(() => this.#seen.find(match), what);
  }

  #send (method: string, params: object, session?: string): void {
    const id = ++this.#id;
    if (session === undefined) this.#ws.send(JSON.stringify({ id, method, params }));
    else this.#ws.send(JSON.stringify({ id, method: 'NodeWorker.sendMessageToWorker', params: { sessionId: session, message: JSON.stringify({ id, method, params }) } }));
  }

  /** The worker's sessions (one per worker thread). */
  async sessions (count: number): Promise<string[]> {
    await waitUntil(() => this.#seen.filter((m) => m.method === 'NodeWorker.attachedToWorker').length >= count || undefined, 'the workers attached');
    return this.#seen.filter((m) => m.method === 'NodeWorker.attachedToWorker').map((m) => String((m.params as { sessionId: string }).sessionId));
  }

  /** Asks `session`'s thread to stop at its next JS statement; resolves once the request is acknowledged. */
  async pause (session: string): Promise<void> {
    this.#send('Debugger.enable', {}, session);
    const id = this.#id + 1;
    this.#send('Debugger.pause', {}, session);
    await this.next((m) => m.session === session && (m as { id?: number }).id === id, 'Debugger.pause acknowledged');
  }

  resume (session: string): void { this.#send('Debugger.resume', {}, session); }
  close (): void { this.#ws.close(); }
}

/** Two native nodes on one redis-server, node A's worker threads stopped (until `resume`). */
async function stoppedNodeA (t: TestContext): Promise<{ c: Cluster; a: number; b: number; resume: () => void; stopped: () => Promise<void>; done: () => void }> {
  testEnv(t, 'NODE_OPTIONS', '--inspect=127.0.0.1:0');
  const c = await redisCluster(t, 2, false, {}, 'native');
  const [a, b] = c.nodes.map((n) => n.ports.https);
  const workers = await Workers.attach(await inspectorUrl(c.nodes[0].child.pid!));
  const sessions = await workers.sessions(1);
  for (const s of sessions) await workers.pause(s);
  let paused = true;
  const resume = (): void => { if (paused) for (const s of sessions) workers.resume(s); paused = false; };
  t.after(() => { resume(); workers.close(); });
  return {
    c, a, b, resume,
    // It did stop, at its first JS after the pause was acknowledged: no drain, no ack, ran meanwhile.
    stopped: async () => { assert.ok(sessions.includes((await workers.next((m) => m.method === 'Debugger.paused', 'the worker paused')).session!)); },
    // Called at the end of a test, not in an after hook: a process with a debugger attached waits for it to leave before it exits.
    done: () => workers.close(),
  };
}

async function drops (c: Cluster, kind?: string): Promise<number> {
  return sumOf(parsePrometheus(await (await fetch(`${c.http[0]}/metrics`)).text()), 'warmshake_native_redis_dropped_total', kind ? { kind } : {});
}

for (const tls of ['1.2', '1.3'] as const) {
  test(`[native] TLS ${tls}: while the worker's JS is stopped the held last flight goes out at its deadline, and the late publish reaches Redis after`, { skip }, async (t) => {
    const { c, a, b, resume, stopped, done } = await stoppedNodeA(t);
    const noTicket = tls === '1.2';
    const sess = join(c.dir, 'held.sess');
    const made = await sClient({ port: a, tls, sessOut: sess, noTicket });
    assert.equal(made.code, 0, made.stderr);
    assert.equal(made.fresh, 1, 'the handshake completed: the held flight went out at its deadline');
    assert.ok(existsSync(sess), 'the client got its session');
    await stopped();

    resume();
    // The publish was only late: once the worker runs, node B resumes the session through Redis.
    await waitUntil(async () => (await sClient({ port: b, tls, sessIn: sess, noTicket })).reused === 1 || undefined,
      'the session made during the pause resumed on node B', undefined, 100);
    // Counted as the one hold that expired (TLS 1.3: the first ticket's; nothing more is
    // held for that connection, so the second goes out at once); nothing else dropped.
    // (The engine's counters reach /metrics through the worker's JS: read once it runs again.)
    await waitUntil(async () => await drops(c) >= 1 || undefined, 'a drop counted');
    assert.equal(await drops(c, 'hold'), 1, 'the expired hold counted');
    assert.equal(await drops(c), 1, 'the publish was late, not lost');
    done();
  });
}

test('[native] TLS 1.2, a queue of one towards the stopped worker: the first publish is held to its deadline, the next is dropped and not held, both clients get their session', { skip }, async (t) => {
  testEnv(t, 'WARMSHAKE_NATIVE_TIER_QUEUE', '1');
  const { c, a, b, resume, stopped, done } = await stoppedNodeA(t);
  const sess = [join(c.dir, 'first.sess'), join(c.dir, 'second.sess')];
  for (const file of sess) {
    const made = await sClient({ port: a, tls: '1.2', sessOut: file, noTicket: true });
    assert.equal(made.code, 0, made.stderr);
    assert.equal(made.fresh, 1);
    assert.ok(existsSync(file), 'the client got its session');
  }
  await stopped();

  resume();
  await waitUntil(async () => (await sClient({ port: b, tls: '1.2', sessIn: sess[0], noTicket: true })).reused === 1 || undefined,
    'the queued session resumed on node B', undefined, 100);
  const lost = await sClient({ port: b, tls: '1.2', sessIn: sess[1], noTicket: true });
  assert.equal(lost.code, 0, lost.stderr);
  assert.equal(lost.reused, 0, 'the dropped session never reached Redis: node B goes on full');
  // The engine's counters reach /metrics through the worker's JS: read once it runs again.
  await waitUntil(async () => await drops(c) >= 2 || undefined, 'the drops counted');
  assert.equal(await drops(c), 2);
  assert.equal(await drops(c, 'hold'), 1, 'the first publish, queued, was held to its deadline');
  assert.equal(await drops(c, 'publish'), 1, 'the second found the queue full: dropped, so nothing to hold');
  done();
});
