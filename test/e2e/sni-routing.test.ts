// use_backend (SNI routing) in terminate mode, on both engines: after the handshake the
// SNI picks the backend by the first matching rule (exact or *.suffix, any depth, never
// the bare suffix), no SNI or no match goes to the default backend. Each backend keeps
// its own servers and health: a server refused at once in a routed backend is reported
// to that backend's pool and marked DOWN there, and a backend with no server left is
// named in the error. Real curl clients (SNI from the URL's host via --resolve) and
// openssl s_client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closedPort, httpBackend } from '../helpers/backend.ts';
import { ENGINES } from '../helpers/engines.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { run, sClient } from '../helpers/peers.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';

/** One curl call per host (with `--resolve` so the name goes out as SNI); the bodies in order. */
async function bodies (port: number, hosts: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const host of hosts) {
    const url = host === '127.0.0.1' ? `https://127.0.0.1:${port}/` : `https://${host}:${port}/`;
    const r = await run('curl', ['-sk', '--fail', '--resolve', `${host}:${port}:127.0.0.1`, url], '', 60_000);
    out.push(r.code === 0 ? r.stdout.trim() : `curl ${r.code}`);
  }
  return out;
}

for (const engine of ENGINES) {
test(`[${engine}] use_backend: the SNI picks the backend (exact, wildcard, first match, default); each backend has its own health`, async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const [app, api, wild, exact] = await Promise.all(['app', 'api', 'wild', 'exact'].map((body) => httpBackend(t, `${body}\n`)));
  const [refusing, gone] = [await closedPort(), await closedPort()];
  const config = terminateConfig({ engine, backendPort: app.port, ...cert, tickets: false, frontend: {
    use_backend: [
      { sni: 'api.example.com', backend: 'api' },
      { sni: '*.Example.com', backend: 'wild' },
      { sni: 'example.com', backend: 'exact' },
      { sni: 'gone.example.org', backend: 'gone' },
    ],
  } });
  config.backends = [
    { name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${app.port}` }] },
    // No health check: three live-traffic failures in a row take `refusing` out (pool.ts PASSIVE_FALL).
    { name: 'api', servers: [{ name: 'refusing', address: `127.0.0.1:${refusing}` }, { name: 'good', address: `127.0.0.1:${api.port}` }] },
    { name: 'wild', servers: [{ name: 's1', address: `127.0.0.1:${wild.port}` }] },
    { name: 'exact', servers: [{ name: 's1', address: `127.0.0.1:${exact.port}` }] },
    { name: 'gone', servers: [{ name: 's1', address: `127.0.0.1:${gone}` }] },
  ];
  const ws = await startWarmshake(t, dir, config);
  await ws.waitForLog((l) => l.msg.startsWith('engine: ') && l.engine === engine);
  assert.deepEqual(ws.logs.filter((l) => /runs on engine node/.test(l.msg)).map((l) => l.msg), [], 'use_backend is served by the native engine');
  const port = ws.ports.https!;

  assert.deepEqual(await bodies(port, ['www.example.com', 'a.b.example.com', 'example.com', 'other.org', 'badexample.com', '127.0.0.1']),
    ['wild', 'wild', 'exact', 'app', 'app', 'app']);
  // Names compare in lower case: openssl sends the SNI as given.
  const upper = await sClient({ port, tls: '1.3', servername: 'WWW.EXAMPLE.COM' });
  assert.match(upper.stdout, /^wild$/m, upper.stderr);

  // The exact rule comes before the wildcard; `refusing` is refused at every try and the good server answers.
  assert.deepEqual(await bodies(port, new Array(8).fill('api.example.com')), new Array(8).fill('api'));
  const down = await ws.waitForLog((l) => l.msg.startsWith('server api/refusing is DOWN'));
  assert.match(String(down.reason), /connect failed: ECONNREFUSED/);
  assert.equal(ws.logs.some((l) => /^server (app|wild|exact)\//.test(l.msg)), false, 'no other backend was blamed');

  // A backend whose only server refuses: the client is closed and the error names that backend.
  const [failed] = await bodies(port, ['gone.example.org']);
  assert.match(failed, /^curl \d+$/);
  const error = await ws.waitForLog((l) => l.stage === 'backend');
  assert.match(String(error.reason), /^backend gone: every server failed \(.*ECONNREFUSED/);
});
}
