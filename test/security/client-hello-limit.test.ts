// limits.max_client_hello: a valid ClientHello over the limit is refused before the TLS
// stack reads it (engine node's hello reader; on native, c/hello.c's filter under
// OpenSSL), logged at stage client_hello with its length, and the client gets a fatal
// illegal_parameter alert (RFC 8446 §6), not a bare close, on both engines and in both
// modes. The same hello under a larger limit is served. A real client makes it: openssl
// s_client with a ~20 KB ALPN list (the hello then spans two records).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { sClient } from '../helpers/peers.ts';
import { startWarmshake } from '../helpers/warmshake.ts';
import { captureClientHello, rawClient } from './helpers/sockets.ts';

/** 100 protocol names of 200 bytes: an ALPN extension of about 20 KB. */
const BIG_ALPN = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(197)}`).join(',');

/** A real ClientHello re-cut into `n` handshake records (legal TLS, one record per piece). */
async function helloInRecords (n: number): Promise<Buffer> {
  const hello = await captureClientHello();
  const message = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const size = Math.ceil(message.length / n);
  const records: Buffer[] = [];
  for (let at = 0; at < message.length; at += size) {
    const piece = message.subarray(at, at + size);
    records.push(Buffer.from([22, 3, 1, piece.length >> 8, piece.length & 0xff]), piece);
  }
  return Buffer.concat(records);
}

/** The one record a refused hello gets back: a fatal illegal_parameter alert. */
const ILLEGAL_PARAMETER = [21, 3, 3, 0, 2, 2, 47];

for (const engine of ENGINES) test(`[${engine}] a ClientHello over limits.max_client_hello is refused with an alert; under a larger limit it is served`, async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const frontend = (name: string, limits: Record<string, unknown>) => ({ name, bind: '127.0.0.1:0', certificates: [{ cert: cert.cert, key: cert.key }], backend: 'app', limits });
  const ws = await startWarmshake(t, dir, {
    global: { workers: 1, engine, log: { level: 'info', format: 'json' } },
    session_cache: { size: 100, lifetime: 300 },
    frontends: [frontend('strict', {}), frontend('roomy', { max_client_hello: 32768 })],
    backends: [{ name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${backend.port}` }] }],
  });
  await ws.waitForLog((l) => l.msg.startsWith('engine: ') && l.engine === engine);
  assert.deepEqual(ws.logs.filter((l) => /runs on engine node/.test(l.msg)).map((l) => l.msg), []);

  const refused = await sClient({ port: ws.ports.strict, tls: '1.3', servername: 'localhost', extra: ['-alpn', BIG_ALPN] });
  assert.doesNotMatch(refused.stdout, /^New, TLSv1\.3/m, 'the oversized hello was served');
  const line = await ws.waitForLog((l) => l.stage === 'client_hello' && l.frontend === 'strict');
  assert.match(String(line.reason), /^ClientHello length \d{5} exceeds 16384$/);
  assert.match(refused.stderr, /alert illegal parameter|alert number 47/, refused.stderr);

  // limits.max_client_hello_records (4 by default): five records are one too many.
  const split = await rawClient({ port: ws.ports.strict, payload: await helloInRecords(5) });
  const spans = await ws.waitForLog((l) => l.stage === 'client_hello' && l.frontend === 'strict' && /records/.test(String(l.reason)));
  assert.equal(spans.reason, 'ClientHello spans more than 4 records');
  // the alert record (fatal, illegal_parameter) and nothing else
  assert.deepEqual([...split.head], ILLEGAL_PARAMETER);
  assert.equal(split.received, ILLEGAL_PARAMETER.length);
  const four = await rawClient({ port: ws.ports.strict, payload: await helloInRecords(4), giveUpMs: 3000 });
  assert.ok(four.received > 7, `a hello in 4 records got ${four.received} bytes back (${four.error})`);

  const served = await sClient({ port: ws.ports.roomy, tls: '1.3', servername: 'localhost', extra: ['-alpn', BIG_ALPN] });
  assert.match(served.stdout, /^New, TLSv1\.3/m, served.stderr);
  assert.equal(ws.logs.filter((l) => l.stage === 'client_hello' && l.frontend === 'roomy').length, 0);
});

test('a pass-through frontend refuses the same hellos with the same alert', async (t) => {
  const dir = tempDir(t);
  // Never reached: a refused hello is not relayed.
  const backend = await httpBackend(t);
  const ws = await startWarmshake(t, dir, {
    global: { workers: 1, log: { level: 'info', format: 'json' } },
    frontends: [{ name: 'relay', bind: '127.0.0.1:0', mode: 'passthrough', backend: 'app' }],
    backends: [{ name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${backend.port}` }] }],
  });
  const port = ws.ports.relay;
  const refused = await sClient({ port, tls: '1.3', servername: 'localhost', extra: ['-alpn', BIG_ALPN] });
  assert.match(refused.stderr, /alert illegal parameter|alert number 47/, refused.stderr);
  const line = await ws.waitForLog((l) => l.stage === 'client_hello' && l.frontend === 'relay');
  assert.match(String(line.reason), /^ClientHello length \d{5} exceeds 16384$/);

  const split = await rawClient({ port, payload: await helloInRecords(5) });
  assert.deepEqual([...split.head], ILLEGAL_PARAMETER);
  assert.equal(split.received, ILLEGAL_PARAMETER.length);
  await ws.waitForLog((l) => l.stage === 'client_hello' && l.frontend === 'relay' && l.reason === 'ClientHello spans more than 4 records');
});
