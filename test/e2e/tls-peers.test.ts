// What outside TLS stacks see of terminate mode, on both engines: gnutls-cli (a second
// TLS implementation) and curl resume, and the three behaviours issue 11 asks of the
// native engine: a NewSessionTicket after a resumed TLS 1.3 handshake and stateful TLS
// 1.3 resumption with an empty legacy session id (`-no_middlebox`), which engine node
// cannot give because Node's TLS layer sits between OpenSSL and the client, and an alert
// (not a bare close) for a malformed ClientHello, which engine node's hello reader sends.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { httpBackend } from '../helpers/backend.ts';
import { ENGINES } from '../helpers/engines.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { run, sClient } from '../helpers/peers.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';

const NODE_GAP = 'engine node: Node\'s TLS layer cannot (issue 11); the native engine can';

async function serve (t: Parameters<typeof tempDir>[0] & object, engine: 'native' | 'node', tickets = true) {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const ws = await startWarmshake(t, dir, terminateConfig({ engine, backendPort: backend.port, ...cert, tickets }));
  return { dir, ws, port: ws.ports.https };
}

function extension (type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

/** A TLS 1.3 ClientHello that is valid but for the legacy session id given (any length). */
function clientHello (sessionId: Buffer): Buffer {
  const exts = Buffer.concat([
    extension(0x002b, Buffer.from('020304', 'hex')), // supported_versions: TLS 1.3
    extension(0x000a, Buffer.from('0002001d', 'hex')), // supported_groups: x25519
    extension(0x000d, Buffer.from('0004040308040', 'hex').subarray(0, 6)), // signature_algorithms
    extension(0x0033, Buffer.concat([Buffer.from('0024001d0020', 'hex'), randomBytes(32)])), // key_share
  ]);
  const extLength = Buffer.alloc(2);
  extLength.writeUInt16BE(exts.length);
  const body = Buffer.concat([Buffer.from('0303', 'hex'), randomBytes(32), Buffer.from([sessionId.length]), sessionId,
    Buffer.from('00021301', 'hex'), Buffer.from('0100', 'hex'), extLength, exts]);
  const handshake = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1, handshake.length >> 8, handshake.length & 0xff]), handshake]);
}

/** The first bytes the server answers with (or nothing, when it just closes). */
function firstAnswer (port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('data', (c: Buffer) => { chunks.push(c); if (Buffer.concat(chunks).length >= 7) s.destroy(); });
    s.on('error', () => {});
    s.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

for (const engine of ENGINES) {
  for (const version of ['1.2', '1.3'] as const) {
    test(`[${engine}] gnutls-cli resumes on TLS ${version}`, async (t) => {
      const { ws, port } = await serve(t, engine);
      const r = await run('gnutls-cli', ['--insecure', '--resume', ...(version === '1.3' ? ['--waitresumption'] : []), '--port', String(port),
        '--priority', `NORMAL:-VERS-ALL:+VERS-TLS${version}`, '127.0.0.1'], 'GET / HTTP/1.0\r\n\r\n');
      assert.match(r.stdout, /\*\*\* This is a resumed session/, r.stdout + r.stderr);
      assert.match(r.stdout, /hello from backend/);
      await ws.waitForLog((l) => l.resumed === true && l.version === `TLSv${version}`);
    });
  }

  test(`[${engine}] curl fetches through the proxy and resumes its second connection`, async (t) => {
    const { ws, port } = await serve(t, engine, false);
    const url = `https://127.0.0.1:${port}/`;
    const r = await run('curl', ['-sk', '--tlsv1.2', '--tls-max', '1.2', '-H', 'Connection: close', url, url]);
    assert.equal(r.stdout, 'hello from backend\nhello from backend\n', r.stderr);
    await ws.waitForLog((l) => l.resumed === true && l.method === 'id');
  });

  test(`[${engine}] TLS 1.3 tickets: a resumed handshake brings a NewSessionTicket, and that ticket resumes`, { skip: engine === 'node' && NODE_GAP }, async (t) => {
    const { dir, port } = await serve(t, engine);
    const first = join(dir, 'first.sess');
    assert.equal((await sClient({ port, tls: '1.3', sessOut: first })).fresh, 1);
    let current = first;
    for (let i = 0; i < 3; i++) {
      const next = join(dir, `next${i}.sess`);
      // Each ticket is used once (RFC 8446 C.4): each resumption must hand over a new one.
      const r = await sClient({ port, tls: '1.3', sessIn: current, sessOut: next, extra: ['-msg'] });
      assert.equal(r.reused, 1, r.stdout);
      assert.match(r.stdout, /<<< TLS 1\.3, Handshake \[length [0-9a-f]+\], NewSessionTicket/, r.stdout);
      current = next;
    }
  });

  test(`[${engine}] TLS 1.3 stateful tickets resume with an empty legacy session id (-no_middlebox)`, { skip: engine === 'node' && NODE_GAP }, async (t) => {
    const { dir, port, ws } = await serve(t, engine, false);
    const sess = join(dir, 'nomb.sess');
    assert.equal((await sClient({ port, tls: '1.3', sessOut: sess, extra: ['-no_middlebox'] })).fresh, 1);
    for (let i = 0; i < 3; i++) assert.equal((await sClient({ port, tls: '1.3', sessIn: sess, extra: ['-no_middlebox'] })).reused, 1);
    await ws.waitForLog((l) => l.resumed === true && l.method === 'stateful_ticket');
  });

  test(`[${engine}] a ClientHello with a 33-byte session id gets a fatal alert; 32 bytes gets a ServerHello`, async (t) => {
    const { port } = await serve(t, engine);
    const good = await firstAnswer(port, clientHello(randomBytes(32)));
    assert.equal(good[0], 0x16, `a valid ClientHello should get a handshake record, got ${good.toString('hex')}`);
    const bad = await firstAnswer(port, clientHello(randomBytes(33)));
    assert.equal(bad[0], 0x15, `expected an alert record, got ${bad.toString('hex') || 'a bare close'}`);
    assert.equal(bad[5], 2, 'the alert is fatal');
    assert.ok([47, 50].includes(bad[6]), `illegal_parameter or decode_error, got ${bad[6]}`);
  });
}
