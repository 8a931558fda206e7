// The default TLS policy, seen by openssl s_client: no TLS 1.0/1.1, forward-secret AEAD
// suites only in TLS 1.2 (an RSA certificate, so RSA key exchange would be possible),
// renegotiation refused, ticket lifetime hint within session_cache.lifetime. Each refusal
// has a control where the same command succeeds, so a broken command cannot pass as a refusal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert, type CertFiles } from '../helpers/certs.ts';
import { run, type Run } from '../helpers/peers.ts';
import { startWarmshake } from '../helpers/warmshake.ts';

const LIFETIME = 120;

const sClient = (port: number, args: string[], input = 'GET / HTTP/1.0\r\n\r\n'): Promise<Run> =>
  run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], input);

/** `PROTOCOL CIPHER` of an established connection (the `New, X` line names the cipher's version, not the protocol's). */
function negotiated (r: Run): string | undefined {
  const cipher = /^New, \S+, Cipher is (\S+)/m.exec(r.stdout)?.[1];
  const protocol = /^\s+Protocol\s+: (\S+)/m.exec(r.stdout)?.[1];
  return cipher && cipher !== '(NONE)' && protocol ? `${protocol} ${cipher}` : undefined;
}

/** A plain Node TLS server that allows what warmshake refuses: the controls. */
function permissiveNode (t: TestContext, cert: CertFiles): Promise<number> {
  const server: Server = createServer({
    cert: readFileSync(cert.cert), key: readFileSync(cert.key), minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0',
  }, (s) => { s.on('error', () => {}); s.on('data', () => s.write('hello from node\n')); });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    resolve((server.address() as { port: number }).port);
  }));
}

/**
 * s_client on a TLS 1.2 connection, then its `R` command (renegotiate) once connected;
 * stdin stays open, so the process only ends early when the connection does.
 */
function renegotiate (port: number): Promise<{ out: string; endedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-tls1_2'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let asked = false;
    let endedByServer = true;
    const onData = (c: Buffer): void => {
      out += c.toString();
      // The session block ends with `Verify return code: N` and a `---` line: connected.
      const verified = out.search(/Verify return code: \d+/);
      if (!asked && verified >= 0 && out.indexOf('\n---\n', verified) > 0) {
        asked = true;
        child.stdin.write('R\n');
        // Long enough for the renegotiation to finish or fail; then we end it ourselves.
        setTimeout(() => { endedByServer = false; child.stdin.end(); }, 3000).unref();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.stdin.on('error', () => {});
    child.on('error', reject);
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', () => { clearTimeout(kill); resolve({ out, endedByServer }); });
  });
}

test('default policy: TLS >= 1.2, ECDHE AEAD suites only, no renegotiation, ticket hint <= lifetime', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir, ['localhost', '127.0.0.1'], 'rsa', 'rsa');
  const backend = await httpBackend(t);
  const frontend = (name: string, extra: Record<string, unknown> = {}) => ({
    name, bind: '127.0.0.1:0', certificates: [{ cert: cert.cert, key: cert.key }], backend: 'app', ...extra,
  });
  const ws = await startWarmshake(t, dir, {
    global: { workers: 1, log: { level: 'info', format: 'json' } },
    session_cache: { size: 1000, lifetime: LIFETIME },
    frontends: [frontend('default'), frontend('rsa_kx', { ciphers: 'AES128-GCM-SHA256:ECDHE+AESGCM' })],
    backends: [{ name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${backend.port}` }] }],
  });
  const port = ws.ports.default;
  const control = await permissiveNode(t, cert);

  await t.test('TLS 1.0 and 1.1 are refused with a protocol_version alert (a permissive server accepts the same command)', async () => {
    for (const [flag, version] of [['-tls1', 'TLSv1'], ['-tls1_1', 'TLSv1.1']] as const) {
      const args = [flag, '-cipher', 'DEFAULT@SECLEVEL=0'];
      const refused = await sClient(port, args);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /alert protocol version/, refused.stderr);
      assert.equal(negotiated(refused), undefined);
      const accepted = await sClient(control, args);
      assert.match(negotiated(accepted) ?? '', new RegExp(`^${version.replace('.', '\\.')} `), `control: ${accepted.stdout}${accepted.stderr}`);
    }
  });

  await t.test('TLS 1.2 negotiates ECDHE with an AEAD cipher; RSA key exchange, every non-ECDHE suite and ECDHE-CBC are refused', async () => {
    const plain = await sClient(port, ['-tls1_2', '-ign_eof']);
    assert.match(negotiated(plain) ?? '', /^TLSv1\.2 ECDHE-RSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/, plain.stdout);
    assert.match(plain.stdout, /hello from backend/);
    for (const cipher of ['AES128-GCM-SHA256', 'ALL:!ECDHE:@SECLEVEL=0', 'ECDHE:!AESGCM:!CHACHA20:@SECLEVEL=0']) {
      const r = await sClient(port, ['-tls1_2', '-cipher', cipher]);
      assert.notEqual(r.code, 0, cipher);
      assert.match(r.stderr, /alert handshake failure/, `${cipher}: ${r.stderr}`);
      assert.equal(negotiated(r), undefined, cipher);
    }
    await ws.waitForLog((l) => l.stage === 'handshake' && /no shared cipher/.test(String(l.reason)));
    // Control: the same certificate, a frontend configured to allow RSA key exchange.
    const rsa = await sClient(ws.ports.rsa_kx, ['-tls1_2', '-cipher', 'AES128-GCM-SHA256']);
    assert.equal(negotiated(rsa), 'TLSv1.2 AES128-GCM-SHA256', rsa.stdout + rsa.stderr);
  });

  await t.test('client-initiated renegotiation is refused (a plain Node server allows it)', async () => {
    const refused = await renegotiate(port);
    assert.match(refused.out, /^RENEGOTIATING/m, refused.out);
    assert.match(refused.out, /no renegotiation/, refused.out);
    assert.ok(refused.endedByServer, 'the connection should end on the refused renegotiation');
    const allowed = await renegotiate(control);
    assert.match(allowed.out, /^RENEGOTIATING/m, allowed.out);
    assert.doesNotMatch(allowed.out, /no renegotiation|:error:/, allowed.out);
    assert.equal(allowed.endedByServer, false, 'the control keeps the renegotiated connection');
  });

  await t.test(`ticket lifetime hint <= session_cache.lifetime (${LIFETIME} s), TLS 1.2 and 1.3`, async () => {
    for (const version of ['-tls1_2', '-tls1_3']) {
      const r = await sClient(port, [version, '-ign_eof']);
      const hints = [...r.stdout.matchAll(/TLS session ticket lifetime hint: (\d+) \(seconds\)/g)].map((m) => Number(m[1]));
      assert.ok(hints.length > 0, `${version}: no ticket: ${r.stdout}`);
      for (const hint of hints) assert.ok(hint > 0 && hint <= LIFETIME, `${version}: hint ${hint}`);
    }
  });
});
