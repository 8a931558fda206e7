// Backend choice in terminate mode, on both engines: a refused connect fails over to the
// next server; a server the health checks mark down is not tried at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../../bench/ports.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { sClient } from '../helpers/peers.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';

const CHECK = { interval: '100ms', rise: 1, fall: 1, timeout: '500ms' };

for (const engine of ENGINES) {
  test(`[${engine}] a refused connect fails over to the next server; with only a dead server the close says why`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const dead = `127.0.0.1:${await freePort()}`; // nothing listens there
    const config = terminateConfig({ engine, port: await freePort(), backendPort: backend.port, ...cert });
    const ws = await startWarmshake(t, dir, {
      ...config,
      frontends: [...(config.frontends as object[]), { ...(config.frontends as object[])[0], name: 'nowhere', bind: `127.0.0.1:${await freePort()}`, backend: 'dead' }],
      backends: [
        { name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${backend.port}` }, { name: 'gone', address: dead }] },
        { name: 'dead', servers: [{ name: 'gone', address: dead }] },
      ],
    });
    for (let i = 0; i < 4; i++) assert.match((await sClient({ port: ws.ports.https, tls: '1.3' })).stdout, /hello from backend/);
    await sClient({ port: ws.ports.nowhere, tls: '1.3' });
    const closed = await ws.waitForLog((l) => l.stage === 'backend' && l.frontend === 'nowhere');
    assert.match(String(closed.reason), /^backend dead: every server failed \(.*(refused|ECONNREFUSED)/i);
  });

  test(`[${engine}] a server the health checks mark down is not tried`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const config = terminateConfig({ engine, port: await freePort(), backendPort: backend.port, ...cert });
    const ws = await startWarmshake(t, dir, {
      ...config,
      backends: [{ name: 'app', servers: [{ name: 'gone', address: `127.0.0.1:${await freePort()}` }], health_check: CHECK }],
    });
    await ws.waitForLog((l) => /server app\/gone is DOWN/.test(l.msg));
    await sClient({ port: ws.ports.https, tls: '1.3' });
    const closed = await ws.waitForLog((l) => l.stage === 'backend');
    assert.match(String(closed.reason), /^backend app: no server is available/);
  });
}
