// `warmshake check` as an operator runs it: a real process, exit codes, messages.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { run } from '../helpers/peers.ts';
import { BIN } from '../helpers/warmshake.ts';

const check = (file: string) => run(process.execPath, [BIN, 'check', '-c', file]);

function good (cert: { cert: string; key: string }): string {
  return `
frontends:
  - name: https
    bind: 127.0.0.1:8443
    certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ]
    backend: app
backends:
  - name: app
    servers: [ { name: s1, address: 127.0.0.1:8080 } ]
`;
}

test('a valid file: exit 0 and "configuration is valid"', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'ok.yaml');
  writeFileSync(file, good(writeCert(dir)));
  const r = await check(file);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^configuration is valid$/m);
});

test('bad files: exit 1 naming each problem by its path', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const cases: Array<[string, string, RegExp]> = [
    ['bad yaml', 'frontends: [ { name: x\n  bind: :', /YAML/],
    ['unknown key', `${good(cert)}\nsession_cach: { size: 10 }\n`, /^session_cach: unknown key, use session_cache instead$/m],
    ['bad port', good(cert).replace('127.0.0.1:8443', '127.0.0.1:70000'), /^frontends\[0\]\.bind: expected HOST:PORT/m],
    ['missing cert file', good({ ...cert, cert: join(dir, 'nope.crt') }), /^frontends\[0\]\.certificates\[0\]\.cert: .*nope\.crt does not exist$/m],
    ['unknown cipher', good(cert).replace('backend: app', 'backend: app\n    ciphers: ECDHE+NOSUCH'), /^frontends\[0\]\.ciphers: OpenSSL knows no cipher in "ECDHE\+NOSUCH"/m],
    ['unknown tls 1.3 suite', good(cert).replace('backend: app', 'backend: app\n    ciphersuites: TLS_NOSUCH_SHA256'), /^frontends\[0\]\.ciphersuites: OpenSSL knows no cipher in "TLS_NOSUCH_SHA256"/m],
    ['missing backend', good(cert).replace('backend: app', 'backend: ghost'), /^frontends\[0\]\.backend: no backend named "ghost"$/m],
  ];
  for (const [name, text, expected] of cases) {
    const file = join(dir, `${name.replace(/ /g, '-')}.yaml`);
    writeFileSync(file, text);
    const r = await check(file);
    assert.equal(r.code, 1, `${name}: ${r.stdout}`);
    assert.match(r.stderr, expected, name);
  }
});

test('a private key that group or others can read is refused with the fix', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  chmodSync(cert.key, 0o644);
  const file = join(dir, 'perm.yaml');
  writeFileSync(file, good(cert));
  const r = await check(file);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /certificates\[0\]\.key: .*server\.key has mode 0644: group or others can read this secret; run chmod 600 /);
  chmodSync(cert.key, 0o600);
  assert.equal((await check(file)).code, 0);
});
