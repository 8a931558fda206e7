// Terminate mode re-encrypting to a TLS backend: warmshake, as a client, resumes its own
// sessions with the server, whichever worker thread makes the connection (issue 5).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { pythonResume } from '../helpers/peers.ts';
import { freePort } from '../../bench/ports.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';
import { startSServer } from '../balancer/helpers/s-server.ts';

test('20 client connections through 2 workers: 1 full and 19 resumed handshakes with the TLS backend', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backendCert = writeCert(dir, ['backend.test'], 'backend');
  const server = await startSServer(t, backendCert, ['-tls1_3']);
  const config = terminateConfig({ port: await freePort(), backendPort: server.port, ...cert, workers: 2, global: { log: { level: 'debug', format: 'json' } } });
  (config.backends as Array<{ servers: Array<Record<string, unknown>> }>)[0].servers[0].tls = { ca: backendCert.cert, verify: true, servername: 'backend.test' };
  const ws = await startWarmshake(t, dir, config);
  // Each client connection is new (no client-side resumption): only the backend leg resumes.
  for (let i = 0; i < 20; i++) await pythonResume(ws.ports.https, '1.3', 1);
  const backend = () => ws.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('backend handshake'));
  await ws.waitForLog(() => backend().length >= 20);
  assert.equal(backend().filter((l) => l.resumed === true).length, 19, JSON.stringify(backend().map((l) => [l.worker, l.resumed])));
  assert.deepEqual(new Set(backend().map((l) => l.worker)), new Set([0, 1]), 'both threads made backend connections');
});
