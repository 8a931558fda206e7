// Certificates that expired or soon will (issue 12): `warmshake check` and start warn,
// naming the file and the date, and /metrics exports every certificate's notAfter.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { generateSelfSigned } from '../../src/certs/self-signed.ts';
import { parsePrometheus, sumOf } from '../admin/prom-parser.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir } from '../helpers/certs.ts';
import { run } from '../helpers/peers.ts';
import { freePort } from '../../bench/ports.ts';
import { BIN, startWarmshake, terminateConfig, writeConfig } from '../helpers/warmshake.ts';

const DAY = 86_400_000;

function certExpiring (dir: string, base: string, notAfter: Date): { cert: string; key: string; notAfter: number } {
  const { cert, key } = generateSelfSigned({ names: ['localhost'], notAfter });
  writeFileSync(join(dir, `${base}.crt`), cert);
  writeFileSync(join(dir, `${base}.key`), key, { mode: 0o600 });
  return { cert: join(dir, `${base}.crt`), key: join(dir, `${base}.key`), notAfter: Date.parse(new X509Certificate(cert).validTo) };
}

test('an expired and a soon-to-expire certificate: check and start warn, /metrics has each notAfter', async (t) => {
  const dir = tempDir(t);
  const backend = await httpBackend(t);
  const expired = certExpiring(dir, 'expired', new Date(Date.now() - 2 * DAY));
  const soon = certExpiring(dir, 'soon', new Date(Date.now() + 10 * DAY + 3_600_000));
  const later = certExpiring(dir, 'later', new Date(Date.now() + 100 * DAY));
  const config = (warnDays?: number) => terminateConfig({
    port: 0, backendPort: backend.port, cert: later.cert, key: later.key, extraCerts: [{ cert: expired.cert, key: expired.key }, { cert: soon.cert, key: soon.key }],
    global: { admin: { http: '127.0.0.1:0' }, ...(warnDays === undefined ? {} : { cert_expiry_warn_days: warnDays }) },
  });
  const file = join(dir, 'check.yaml');

  writeConfig(file, config());
  const r = await run(process.execPath, [BIN, 'check', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^warning: frontends\[0\]\.certificates\[1\]\.cert: .*expired\.crt expired on \d{4}-\d\d-\d\dT.* \(2 days ago\): clients will refuse it; renew it$/m);
  assert.match(r.stdout, /^warning: frontends\[0\]\.certificates\[2\]\.cert: .*soon\.crt expires on .*, in 10 days \(cert_expiry_warn_days: 30\); renew it$/m);
  assert.doesNotMatch(r.stdout, /later\.crt/);
  assert.match(r.stdout, /^configuration is valid$/m);

  writeConfig(file, config(5));
  const quiet = await run(process.execPath, [BIN, 'check', '-c', file]);
  assert.doesNotMatch(quiet.stdout, /soon\.crt/, 'outside cert_expiry_warn_days: 5');
  assert.match(quiet.stdout, /expired\.crt expired on/, 'an expired certificate always warns');

  const ws = await startWarmshake(t, dir, config(), 'run.yaml');
  const warned = await ws.waitForLog((l) => /expired\.crt expired on/.test(l.msg));
  assert.equal(warned.level, 40, 'logged at warn');
  const http = `http://${String((await ws.waitForLog((l) => l.msg === 'admin http listening')).address)}`;
  const m = parsePrometheus(await (await fetch(`${http}/metrics`)).text());
  for (const c of [expired, soon, later]) {
    assert.equal(sumOf(m, 'warmshake_cert_expiry_timestamp_seconds', { frontend: 'https', cert: c.cert }), Math.floor(c.notAfter / 1000), c.cert);
  }
});

test('bind: a bare port means every IPv4 address (0.0.0.0), as documented', async (t) => {
  const dir = tempDir(t);
  const backend = await httpBackend(t);
  const c = certExpiring(dir, 'server', new Date(Date.now() + 100 * DAY));
  const socket = join(dir, 'admin.sock');
  const config = terminateConfig({ port: 0, backendPort: backend.port, cert: c.cert, key: c.key, global: { admin: { socket } } });
  const port = await freePort();
  (config.frontends as Array<Record<string, unknown>>)[0].bind = port;
  const ws = await startWarmshake(t, dir, config);
  assert.equal(ws.ports.https, port);
  const r = await run('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${port}/`]);
  assert.equal(r.stdout, '200', `curl: ${r.stderr}`);
  assert.match(await sendAdminCommand(socket, 'show stat'), new RegExp(`^https,FRONTEND,.*,0\\.0\\.0\\.0:${port},`, 'm'));
});
