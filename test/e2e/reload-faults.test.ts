// Reloads and worker deaths as an operator's bad day brings them (issue 15): SIGHUPs that
// overlap a running reload, workers that die one after another. Real processes: the
// warmshake binary, curl, Node backends; the listeners are counted from /proc: one per
// frontend address where the addon loads (the process's socket: every native engine
// watches it, every engine-node worker serves a dup() of it), one per worker without it
// (each has its own SO_REUSEPORT socket).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { tcpMigrateReq } from '../../src/runtime/migrate-req.ts';
import { eventually, parseInfo } from '../admin/helpers.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { backendFor, configFor, LISTEN_CASES, listenersFor, PROCESS_SOCKETS } from '../helpers/listen-cases.ts';
import { listeningSockets } from '../helpers/listeners.ts';
import { run } from '../helpers/peers.ts';
import { startWarmshake, terminateConfig, type Running } from '../helpers/warmshake.ts';

/** `count` HTTPS requests through curl, each on its own connection; the bodies, one per line. */
async function curlBodies (port: number, count: number): Promise<string[]> {
  const urls = Array.from({ length: count }, () => `https://127.0.0.1:${port}/`);
  const r = await run('curl', ['-sk', '--fail', '-H', 'Connection: close', ...urls], '', 60_000);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

const reloaded = (ws: Running, n: number) => ws.waitForLog((l) => l.msg === 'configuration reloaded' &&
  ws.logs.filter((r) => r.msg === 'configuration reloaded').length >= n, 90_000);

for (const kind of LISTEN_CASES) test(`[${kind}] two SIGHUPs 200 ms apart: the reloads run one after the other, N workers listen, the newest backend takes every request`, async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => backendFor(t, kind, cert, `${name}\n`)));
  const socket = join(dir, 'admin.sock');
  const config = (backendPort: number) => configFor(kind, { backendPort, ...cert, workers: 2, tickets: false,
    global: { admin: { socket }, shutdown_timeout: '2s' } });
  const ws = await startWarmshake(t, dir, config(a!.port));
  // bind 127.0.0.1:0: every worker, and every reload, is given the port the first one got.
  const port = ws.ports.https!;
  const pid = ws.child.pid!;
  assert.equal(listeningSockets(pid, port), listenersFor(2));
  assert.deepEqual(new Set(await curlBodies(port, 4)), new Set(['a']));
  // What a reload may cost here is said at start, with per-worker sockets only (no addon;
  // reload-under-load.test.ts runs those with the sysctl at 1); the process's socket does not need it.
  assert.equal(ws.logs.some((l) => l.level === 40 && /net\.ipv4\.tcp_migrate_req is 0/.test(l.msg)), !PROCESS_SOCKETS && tcpMigrateReq() === 0);

  ws.rewrite(config(b!.port));
  ws.child.kill('SIGHUP');
  await delay(200);
  ws.rewrite(config(c!.port));
  ws.child.kill('SIGHUP');
  await ws.waitForLog((l) => /queued/.test(l.msg));
  await reloaded(ws, 2);

  assert.equal(listeningSockets(pid, port), listenersFor(2), PROCESS_SOCKETS ? 'the process\'s one listening socket' : 'one listening socket per worker');
  const info = parseInfo(await sendAdminCommand(socket, 'show info'));
  assert.equal(info.get('Nbthread'), '2');
  const bodies = await curlBodies(port, 40);
  assert.equal(bodies.length, 40);
  assert.deepEqual(new Set(bodies), new Set(['c']), 'every request reaches the backend of the newest config');
});

test('WorkerRestarts counts every restart: three deaths, a reload between them, three restarts', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const socket = join(dir, 'admin.sock');
  const ws = await startWarmshake(t, dir, terminateConfig({ backendPort: backend.port, ...cert, workers: 2, global: { admin: { socket } } }));
  const port = ws.ports.https!;
  for (const [i, worker] of [[1, 0], [2, 1], [3, 0]] as const) {
    // Wait for the worker to run again before the next panic (`debug dev panic` needs a running one).
    await eventually(async () => new RegExp(`worker ${worker}`).test(await sendAdminCommand(socket, `debug dev panic ${worker}`)) || undefined, 'panic accepted');
    await ws.waitForLog((l) => l.msg === 'worker restarted' && ws.logs.filter((r) => r.msg === 'worker restarted').length >= i, 60_000);
    if (i === 2) {
      // A reload replaces the workers; the restarts before it still count.
      ws.child.kill('SIGHUP');
      await reloaded(ws, 1);
    }
  }
  const info = await eventually(async () => {
    const i = parseInfo(await sendAdminCommand(socket, 'show info'));
    return i.get('Nbthread') === '2' ? i : undefined;
  }, 'both workers running');
  assert.equal(info.get('WorkerRestarts'), '3');
  assert.equal(listeningSockets(ws.child.pid!, port), listenersFor(2));
});
