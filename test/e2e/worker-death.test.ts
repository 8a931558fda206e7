// Worker deaths (issue 15): the listening socket is the process's on either engine
// (engine node's workers serve a dup() each), so while no worker runs the port queues
// connections instead of refusing them. On the native engine the connections a dying
// worker had (handshakes included) also finish on its engine, which drains on its own;
// engine node's die with its thread. Real processes: the warmshake binary, Python TLS
// clients, Node backends; the workers die of an uncaught exception (`debug dev panic`).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { echoBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { acceptQueue, listeningSockets } from '../helpers/listeners.ts';
import { backendFor, configFor, LISTEN_CASES } from '../helpers/listen-cases.ts';
import { startLoad } from '../helpers/load.ts';
import { PY_TLS_CONTEXT } from '../helpers/peers.ts';
import { waitUntil } from '../helpers/wait.ts';
import { startWarmshake, terminateConfig, type Running } from '../helpers/warmshake.ts';

const native = ENGINES.includes('native');
// Without the addon no socket is the process's: engine node's workers have one each.
const skip = native ? false : 'the native addon is not loaded';
const CLIENTS = 8;

const restarted = (ws: Running, n: number) => ws.waitForLog((l) => l.msg === 'worker restarted' &&
  ws.logs.filter((r) => r.msg === 'worker restarted').length >= n, 120_000);

for (const c of LISTEN_CASES) for (const workers of [1, 2]) {
  // Engine node's connections die with their thread: only the native engine fails none.
  const what = c === 'native' ? 'no connection refused, no handshake failed' : 'no connection refused';
  test(`[${c}] ${workers === 1 ? 'the only worker dies' : 'both workers die at once'} under a steady load: ${what}`, { skip, timeout: 300_000 }, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await backendFor(t, c, cert);
    const socket = join(dir, 'admin.sock');
    const ws = await startWarmshake(t, dir, configFor(c, { backendPort: backend.port, ...cert, workers, global: { admin: { socket } } }));
    const port = ws.ports.https!;
    const pid = ws.child.pid!;
    assert.equal(listeningSockets(pid, port), 1, 'one listening socket, the process\'s');
    const load = startLoad(port, CLIENTS);
    t.after(() => load.stop().then(() => undefined, () => undefined));
    let served = 50;
    await load.reached(served);
    for (let w = 0; w < workers; w++) assert.match(await sendAdminCommand(socket, `debug dev panic ${w}`), new RegExp(`worker ${w}`));
    // Every worker gone (their threads have exited): the socket is still there, queueing.
    await ws.waitForLog((l) => /exited with code/.test(l.msg) && ws.logs.filter((r) => /exited with code/.test(r.msg)).length >= workers);
    assert.equal(listeningSockets(pid, port), 1);
    await restarted(ws, workers);
    served += 100;
    await load.reached(served);
    const result = await load.stop();
    assert.equal(result.refused, 0, JSON.stringify(result.failures));
    if (c === 'native') assert.equal(result.failed, 0, JSON.stringify(result.failures));
    assert.ok(result.ok >= served);
  });
}

// A Python client with two connections through warmshake to an echo backend: `a` is
// established and has echoed once, `b` is accepted but has not begun its handshake. On
// "go" (after the worker died) `a` echoes again and `b` handshakes and echoes.
const IN_FLIGHT = String.raw`
import json, socket, ssl, sys
port, version = int(sys.argv[1]), '1.3'
${PY_TLS_CONTEXT}
def echo(s, data):
    s.sendall(data)
    got = b''
    while len(got) < len(data):
        chunk = s.recv(65536)
        if not chunk:
            raise Exception('closed after %r' % got)
        got += chunk
    return got.decode()
a = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=60), server_hostname='localhost')
first = echo(a, b'one')
b = socket.create_connection(('127.0.0.1', port), timeout=60)
print('ready', flush=True)
sys.stdin.readline()
out = {'first': first}
for name, step in (('a', lambda: echo(a, b'two')), ('b', lambda: echo(ctx.wrap_socket(b, server_hostname='localhost'), b'three'))):
    try:
        out[name] = step()
    except Exception as e:
        out[name] = 'failed: %r' % e
print(json.dumps(out), flush=True)
`;

test('[native] a connection and a handshake under way on a worker that dies both complete: its engine drains them', { skip, timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await echoBackend(t);
  const socket = join(dir, 'admin.sock');
  const ws = await startWarmshake(t, dir, terminateConfig({ engine: 'native', backendPort: backend.port, ...cert, workers: 1,
    global: { admin: { socket }, shutdown_timeout: '60s' } }));
  const port = ws.ports.https!;
  const client = spawn('python3', ['-c', IN_FLIGHT, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => client.kill());
  let out = '';
  let stderr = '';
  client.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  client.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const done = new Promise<number | null>((resolve) => client.once('close', resolve));
  await waitUntil(() => out.includes('ready\n'), 'the client connected');
  // `b` is the engine's, not waiting in the kernel's queue (where the replacement would take it).
  await waitUntil(() => acceptQueue(ws.child.pid!, port) === 0, 'the connection accepted');
  assert.match(await sendAdminCommand(socket, 'debug dev panic 0'), /worker 0/);
  await ws.waitForLog((l) => /worker 0 exited with code/.test(l.msg));
  client.stdin.write('go\n');
  assert.equal(await done, 0, stderr);
  const result = JSON.parse(out.trim().split('\n').pop()!) as Record<string, string>;
  assert.deepEqual(result, { first: 'one', a: 'two', b: 'three' });
});
