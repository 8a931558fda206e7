import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { generateSelfSigned } from '../../src/certs/self-signed.ts';
import { bitString, integer, namedBits, oid, time } from '../../src/certs/der.ts';

const run = promisify(execFile);
const hex = (b: Buffer): string => b.toString('hex');

test('der: integers, oids, bit strings and times in their DER forms', () => {
  assert.equal(hex(integer(0)), '020100');
  assert.equal(hex(integer(127)), '02017f');
  assert.equal(hex(integer(128)), '02020080');
  assert.equal(hex(integer(Buffer.from([0, 0, 1]))), '020101');
  assert.equal(hex(oid('1.2.840.113549.1.1.11')), '06092a864886f70d01010b');
  assert.equal(hex(oid('2.5.29.17')), '0603551d11');
  assert.equal(hex(bitString(Buffer.from([0xff]))), '030200ff');
  assert.equal(hex(namedBits([0])), '03020780'); // digitalSignature
  assert.equal(hex(namedBits([0, 2])), '030205a0'); // + keyEncipherment
  assert.equal(time(new Date(Date.UTC(2049, 11, 31, 23, 59, 59))).toString('latin1', 2), '491231235959Z');
  assert.equal(time(new Date(Date.UTC(2050, 0, 1, 0, 0, 0))).toString('latin1', 2), '20500101000000Z');
  assert.equal(time(new Date(Date.UTC(2050, 0, 1)))[0], 0x18);
});

test('self-signed: rejects names that cannot go in a SAN', () => {
  assert.throws(() => generateSelfSigned({ names: [] }), TypeError);
  assert.throws(() => generateSelfSigned({ names: ['bücher.example'] }), /punycode/);
});

async function handshakeWithNode (cert: string, key: string, servername?: string): Promise<string> {
  const server = createServer({ cert, key }, (socket) => socket.end('hello'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const socket = connect({ host: '127.0.0.1', port, ca: cert, servername });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'secureConnect');
    assert.equal(socket.authorized, true, String(socket.authorizationError));
    await once(socket, 'end');
    socket.destroy();
    return Buffer.concat(chunks).toString();
  } finally {
    server.close();
  }
}

/** `openssl s_client` with verification errors fatal; resolves with its exit code and output. */
async function handshakeWithOpenssl (port: number, caFile: string, verify: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn('openssl', [
    's_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost',
    '-CAfile', caFile, '-verify_return_error', ...verify,
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
  child.stdin.end(); // EOF on stdin: s_client handshakes, prints the result and quits
  const [code] = await once(child, 'close') as [number | null];
  return { code, out };
}

for (const keyType of ['ec', 'rsa'] as const) {
  test(`self-signed ${keyType}: parses, names and signature check out`, async (t) => {
    const { cert, key } = generateSelfSigned({ names: ['localhost', '127.0.0.1', '::1'], keyType, days: 30 });
    const x509 = new X509Certificate(cert);
    assert.equal(x509.subject, 'CN=localhost');
    assert.equal(x509.issuer, 'CN=localhost');
    assert.equal(x509.checkHost('localhost'), 'localhost');
    assert.equal(x509.checkHost('example.com'), undefined);
    assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x509.checkIP('::1'), '::1');
    assert.equal(x509.verify(x509.publicKey), true);
    assert.equal(x509.checkPrivateKey(createPrivateKey(key)), true);
    assert.equal(x509.ca, false);
    assert.deepEqual(x509.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.equal(x509.publicKey.asymmetricKeyType, keyType);
    assert.match(key, /^-----BEGIN PRIVATE KEY-----\n/);
    const serial = Buffer.from(x509.serialNumber, 'hex');
    assert.equal(serial.length, 16);
    assert.equal(serial[0] & 0x80, 0);
    const from = Date.parse(x509.validFrom);
    const to = Date.parse(x509.validTo);
    assert.ok(from < Date.now() - 50 * 60_000, 'notBefore is back-dated by about an hour');
    assert.ok(Math.abs(to - Date.now() - 30 * 86_400_000) < 120_000, 'notAfter is `days` from now');

    const dir = mkdtempSync(join(tmpdir(), 'warmshake-self-signed-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const certFile = join(dir, 'cert.pem');
    writeFileSync(certFile, cert);
    const { stdout } = await run('openssl', ['x509', '-noout', '-text', '-in', certFile]);
    assert.match(stdout, /Version: 3 \(0x2\)/);
    assert.match(stdout, keyType === 'ec' ? /Signature Algorithm: ecdsa-with-SHA256/ : /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(stdout, /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    assert.match(stdout, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(stdout, keyType === 'ec' ? /Key Usage: critical\s+Digital Signature\n/ : /Key Usage: critical\s+Digital Signature, Key Encipherment/);
    assert.match(stdout, /Extended Key Usage:\s+TLS Web Server Authentication/);
    const verified = await run('openssl', ['verify', '-CAfile', certFile, '-purpose', 'sslserver', certFile]);
    assert.match(verified.stdout, /: OK/);
  });

  test(`self-signed ${keyType}: Node and openssl s_client handshake with verification on`, async (t) => {
    const { cert, key } = generateSelfSigned({ names: ['localhost', '127.0.0.1'], keyType });
    assert.equal(await handshakeWithNode(cert, key, 'localhost'), 'hello');
    assert.equal(await handshakeWithNode(cert, key), 'hello'); // no SNI: checked against the IP SAN

    const dir = mkdtempSync(join(tmpdir(), 'warmshake-self-signed-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, cert);
    // The server never closes first: OpenSSL 3's s_client exits 1 on a close it reads as
    // an unexpected EOF. It quits by itself once its stdin is at EOF.
    const server = createServer({ cert, key }, (socket) => { socket.on('error', () => {}); socket.write('hello\n'); });
    server.listen(0, '127.0.0.1');
    t.after(() => server.close());
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    for (const verify of [['-verify_hostname', 'localhost'], ['-verify_ip', '127.0.0.1']]) {
      const { code, out } = await handshakeWithOpenssl(port, caFile, verify);
      assert.equal(code, 0, out);
      assert.match(out, /Verify return code: 0 \(ok\)/);
    }
    const wrong = await handshakeWithOpenssl(port, caFile, ['-verify_hostname', 'example.com']);
    assert.notEqual(wrong.code, 0, 'a name not in the SAN fails verification');
  });
}
