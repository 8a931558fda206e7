// `keepalive` / `keepalive_delay` on both engines: a client connection carries TCP
// keep-alive with the configured idle time, or none when it is off. Read from the
// kernel with `ss -o` (its timer column), on the server's side of the connection. The
// native engine sets it on the listener (engine.c set_keepalive), engine node on each
// socket; a reload from one to the other must leave no stale setting behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { run } from '../helpers/peers.ts';
import { waitUntil } from '../helpers/wait.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';

/** A TLS client held open until the test ends. */
async function held (t: { after: (fn: () => void) => void }, port: number): Promise<TLSSocket> {
  const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false });
  t.after(() => socket.destroy());
  await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); });
  return socket;
}

/**
 * The keep-alive timer of the server's side of the connection from `clientPort`, in
 * seconds, or undefined when it has none. ss shows one timer: while bytes the server sent
 * (its NewSessionTickets) are unacknowledged it shows the retransmit timer, so this waits
 * for an empty send queue first.
 */
async function keepaliveSeconds (serverPort: number, clientPort: number): Promise<number | undefined> {
  const line = await waitUntil(async () => {
    const out = await run('ss', ['-tnoH', 'state', 'established', `( sport = :${serverPort} and dport = :${clientPort} )`]);
    assert.equal(out.code, 0, out.stderr);
    const fields = out.stdout.trim().split(/\s+/);
    return fields.length >= 4 && fields[1] === '0' ? out.stdout : undefined;
  }, `the server's side of the connection from port ${clientPort} with nothing left to send`);
  const timer = /timer:\(keepalive,(?:(\d+)min)?([\d.]+)(m?s)ec/.exec(line);
  if (!timer) return undefined;
  return Number(timer[1] ?? 0) * 60 + Number(timer[2]) / (timer[3] === 'ms' ? 1000 : 1);
}

for (const engine of ENGINES) {
  test(`engine ${engine}: keepalive_delay reaches the client connection, and keepalive: false leaves it off`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const on = terminateConfig({ engine, backendPort: backend.port, ...cert, frontend: { keepalive: true, keepalive_delay: '77s' } });
    const ws = await startWarmshake(t, dir, on);
    const port = ws.ports.https;
    const first = await held(t, port);
    const seconds = await keepaliveSeconds(port, first.localPort!);
    assert.ok(seconds !== undefined && seconds > 60 && seconds <= 77, `keep-alive timer ${seconds} s, configured 77 s`);

    // Off, and on the other engine after a reload when there are two: nothing left from the first config.
    const other = ENGINES.find((e) => e !== engine) ?? engine;
    ws.rewrite(terminateConfig({ engine: other, backendPort: backend.port, ...cert, frontend: { keepalive: false } }));
    ws.child.kill('SIGHUP');
    await ws.waitForLog((l) => l.msg === 'configuration reloaded');
    const second = await held(t, port);
    assert.equal(await keepaliveSeconds(port, second.localPort!), undefined, `engine ${other} with keepalive: false`);
  });
}
