// warmshake as the TLS client of its backend servers (mode terminate, `servers[].tls`):
// one full handshake per server, then resumptions, counted by warmshake and confirmed by
// `openssl s_server`'s own session statistics on its -www page.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import { connect } from 'node:net';
import { BackendTls } from '../../src/balancer/backend-tls.ts';
import type { ServerConfig } from '../../src/config/types.ts';
import type { BackendHandshakeEvent } from '../../src/diagnostics.ts';
import { MemoryStore } from '../../src/session-cache/memory-store.ts';
import { tempDir, writeCert, type CertFiles } from '../helpers/certs.ts';
import { sServerStats, startSServer } from './helpers/s-server.ts';

function serverConfig (port: number, cert: CertFiles): ServerConfig {
  return { name: 's1', address: { host: '127.0.0.1', port }, weight: 1, tls: { ca: cert.cert, verify: true, servername: 'localhost' } };
}

/** One request through a fresh TCP connection wrapped by `backendTls`; resolves with the page. */
async function fetchPage (backendTls: BackendTls, server: ServerConfig): Promise<string> {
  const socket = connect(server.address.port, server.address.host);
  await once(socket, 'connect');
  const tls = await backendTls.connect(socket, { backend: 'app', server });
  tls.end('GET / HTTP/1.0\r\n\r\n');
  let page = '';
  tls.on('data', (c: Buffer) => { page += c.toString(); });
  await once(tls, 'close');
  return page;
}

function events (t: TestContext): BackendHandshakeEvent[] {
  const seen: BackendHandshakeEvent[] = [];
  const fn = (e: unknown): void => { seen.push(e as BackendHandshakeEvent); };
  diagnostics.subscribe('warmshake:backend:handshake', fn);
  t.after(() => diagnostics.unsubscribe('warmshake:backend:handshake', fn));
  return seen;
}

for (const [label, args] of [
  ['TLS 1.3 tickets', []],
  ['TLS 1.3 stateful (-no_ticket)', ['-no_ticket']],
  ['TLS 1.2 session ids', ['-tls1_2', '-no_ticket']],
  ['TLS 1.2 tickets', ['-tls1_2']],
] as const) {
  test(`${label}: 20 connections to openssl s_server make 1 full and 19 resumed backend handshakes`, async (t) => {
    const cert = writeCert(tempDir(t));
    const backend = await startSServer(t, cert, [...args]);
    const seen = events(t);
    const backendTls = new BackendTls({ store: new MemoryStore({ size: 16, lifetime: 60_000, maxEntryBytes: 4096 }) });
    const server = serverConfig(backend.port, cert);
    let page = '';
    for (let i = 0; i < 20; i++) page = await fetchPage(backendTls, server);
    const stats = backendTls.stats();
    assert.equal(stats.full, 1);
    assert.equal(stats.resumed, 19);
    assert.equal(stats.declined, 0);
    assert.deepEqual(seen.map((e) => e.resumed), [false, ...Array(19).fill(true)]);
    // s_server's own count, printed on the last page (the 20th connection included).
    const own = sServerStats(page);
    assert.equal(own['session cache hits'], 19, page);
    assert.equal(own['server accepts that finished'], 20);
  });
}

test('a restarted backend declines the old session: one full handshake, then resumptions again', async (t) => {
  const cert = writeCert(tempDir(t));
  const store = new MemoryStore({ size: 16, lifetime: 60_000, maxEntryBytes: 4096 });
  const backendTls = new BackendTls({ store });
  const first = await startSServer(t, cert);
  for (let i = 0; i < 2; i++) await fetchPage(backendTls, serverConfig(first.port, cert));
  await first.stop();
  const second = await startSServer(t, cert); // same server name, new process: new ticket key
  for (let i = 0; i < 3; i++) await fetchPage(backendTls, serverConfig(second.port, cert));
  assert.deepEqual(backendTls.stats(), { full: 2, resumed: 3, declined: 1, stored: backendTls.stats().stored, failed: 0 });
});

test('a certificate that does not verify fails the handshake and frees the socket', async (t) => {
  const cert = writeCert(tempDir(t));
  const other = writeCert(tempDir(t), ['localhost'], 'other');
  const backend = await startSServer(t, cert);
  const backendTls = new BackendTls({ store: new MemoryStore({ maxEntryBytes: 4096 }) });
  const socket = connect(backend.port, '127.0.0.1');
  await once(socket, 'connect');
  await assert.rejects(backendTls.connect(socket, { backend: 'app', server: serverConfig(backend.port, other) }));
  assert.ok(socket.destroyed);
  assert.equal(backendTls.stats().failed, 1);
});
