// contrib/: the example telemetry-gateway config passes `warmshake check` once the files
// it names exist (made here, in a temporary directory standing in for /etc/warmshake),
// and the systemd unit reloads with SIGHUP as an unprivileged user.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { generateSelfSigned } from '../../src/certs/self-signed.ts';
import { tempDir } from '../helpers/certs.ts';
import { BIN } from '../helpers/warmshake.ts';

const CONTRIB = new URL('../../contrib/', import.meta.url);

test('contrib/telemetry-gateway.yaml passes warmshake check once its files exist', async (t) => {
  const etc = tempDir(t, 'warmshake-etc-');
  mkdirSync(join(etc, 'tls'));
  const { cert, key } = generateSelfSigned({ names: ['gateway.example'] });
  writeFileSync(join(etc, 'tls', 'gateway.crt'), cert);
  writeFileSync(join(etc, 'tls', 'gateway.key'), key, { mode: 0o600 });
  writeFileSync(join(etc, 'cache.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const text = readFileSync(new URL('telemetry-gateway.yaml', CONTRIB), 'utf8');
  assert.match(text, /redis:/);
  assert.match(text, /lifetime: 24h/);
  const file = join(etc, 'warmshake.yaml');
  writeFileSync(file, text.replaceAll('/etc/warmshake/', `${etc}/`));
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'check', '-c', file]);
  assert.match(stdout, /configuration is valid/);
});

test('contrib/warmshake.service: SIGHUP reload, a service user, a file limit, hardening', () => {
  const unit = readFileSync(new URL('warmshake.service', CONTRIB), 'utf8');
  const keys = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1], [...(keys.get(m[1]) ?? []), m[2]]);
  }
  assert.ok(keys.get('ExecReload')?.includes('/bin/kill -HUP $MAINPID'));
  assert.match(keys.get('ExecStart')?.[0] ?? '', /warmshake\.ts run -c /);
  assert.equal(keys.get('User')?.[0], 'warmshake');
  assert.ok(Number(keys.get('LimitNOFILE')?.[0]) >= 65536);
  for (const k of ['NoNewPrivileges', 'ProtectSystem', 'PrivateTmp', 'RestrictAddressFamilies', 'CapabilityBoundingSet']) assert.ok(keys.has(k), k);
  assert.match(unit, /mode 0600/);
});
