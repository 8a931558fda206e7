// Several worker threads on one port (the process's socket, or SO_REUSEPORT without the
// addon) share one session cache and one ticket-key ring: a client resumes whichever
// thread takes it (issue 3). One client at a time may stay on one thread: the native
// engine's threads watch the socket with EPOLLEXCLUSIVE and the kernel hands each
// connection to the first engine asleep in epoll_wait, as nginx's workers take theirs
// (docs/native.md). Clients that overlap reach both threads.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pythonResume, sClient } from '../helpers/peers.ts';
import { httpBackend } from '../helpers/backend.ts';
import { startLoad } from '../helpers/load.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { startWarmshake, terminateConfig, type LogRecord } from '../helpers/warmshake.ts';
import { ENGINES } from '../helpers/engines.ts';

for (const engine of ENGINES) {
  const resumedOn = (logs: LogRecord[]) => new Set(logs.filter((l) => l.resumed === true).map((l) => l.worker));

  for (const [name, tls, tickets] of [['TLS 1.2 ids', '1.2', false], ['TLS 1.3 stateful tickets', '1.3', false], ['TLS 1.3 stateless tickets', '1.3', true]] as const) {
    test(`[${engine}] workers: 2 — ${name}: 50 reconnections resume; under a concurrent load both threads resume`, async (t) => {
      const dir = tempDir(t);
      const cert = writeCert(dir);
      const backend = await httpBackend(t);
      const ws = await startWarmshake(t, dir, terminateConfig({ engine, backendPort: backend.port, ...cert, workers: 2, tickets }));
      const results = await pythonResume(ws.ports.https, tls, 51);
      assert.equal(results[0], false);
      assert.equal(results.slice(1).filter(Boolean).length, 50, JSON.stringify(results));
      const load = startLoad(ws.ports.https!, 16, tls);
      try {
        await ws.waitForLog((l) => l.resumed === true && resumedOn(ws.logs).size === 2);
      } finally {
        const done = await load.stop();
        assert.equal(done.failed, 0, done.failures.join('\n'));
      }
      assert.deepEqual([...resumedOn(ws.logs)].sort(), [0, 1]);
    });
  }

  test(`[${engine}] workers: 2 — openssl s_client -reconnect resumes every time, whichever thread`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const ws = await startWarmshake(t, dir, terminateConfig({ engine, backendPort: backend.port, ...cert, workers: 2, tickets: false }));
    let reused = 0;
    for (let i = 0; i < 5; i++) reused += (await sClient({ port: ws.ports.https, tls: '1.2', reconnect: true })).reused;
    assert.equal(reused, 25);
  });

  test(`[${engine}] a worker that dies of an uncaught exception is replaced; sessions made before still resume`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const socket = join(dir, 'admin.sock');
    const ws = await startWarmshake(t, dir, terminateConfig({ engine, backendPort: backend.port, ...cert, workers: 2, tickets: false, global: { admin: { socket } } }));
    const port = ws.ports.https;
    const sess = join(dir, 'before.sess');
    await sClient({ port, tls: '1.2', sessOut: sess });
    const { sendAdminCommand } = await import('../../src/cli/ctl.ts');
    assert.match(await sendAdminCommand(socket, 'debug dev panic 0'), /worker 0/);
    await ws.waitForLog((l) => /worker 0 died/.test(l.msg));
    // The other thread serves meanwhile; then the replacement binds the same port.
    for (let i = 0; i < 6; i++) assert.equal((await sClient({ port, tls: '1.2', sessIn: sess })).reused, 1);
    await ws.waitForLog((l) => l.msg === 'worker restarted' && l.worker === 0);
    for (let i = 0; i < 6; i++) assert.equal((await sClient({ port, tls: '1.2', sessIn: sess })).reused, 1);
  });

  test(`[${engine}] after SIGHUP a session stored before the reload resumes`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const config = terminateConfig({ engine, backendPort: backend.port, ...cert, workers: 2, tickets: false });
    const ws = await startWarmshake(t, dir, config);
    const port = ws.ports.https;
    const sess = join(dir, 'before.sess');
    await sClient({ port, tls: '1.2', sessOut: sess });
    ws.rewrite({ ...config, global: { ...(config.global as object), log: { level: 'info', format: 'json' }, workers: 2, shutdown_timeout: '1s' } });
    ws.child.kill('SIGHUP');
    await ws.waitForLog((l) => l.msg === 'configuration reloaded');
    for (let i = 0; i < 4; i++) assert.equal((await sClient({ port, tls: '1.2', sessIn: sess })).reused, 1);
  });
}
