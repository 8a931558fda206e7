// Which engine a config runs on, as `warmshake check`, `--version` and the start log say.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadAddon } from '../../src/native/addon.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { run } from '../helpers/peers.ts';
import { BIN } from '../helpers/warmshake.ts';

const loaded = loadAddon();

function config (cert: { cert: string; key: string }, global = ''): string {
  return `
global: { workers: 1${global} }
frontends:
  - name: plain
    bind: 127.0.0.1:8443
    certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ]
    backend: app
    allow: [ 127.0.0.0/8, ::1/128 ]
    deny: [ 127.0.0.5 ]
  - name: guarded
    bind: 127.0.0.1:8444
    certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ]
    backend: app
    limits: { per_client_connections: 2 }
  - name: relay
    bind: 127.0.0.1:8445
    mode: passthrough
    backend: app
backends:
  - name: app
    servers: [ { name: s1, address: 127.0.0.1:8080 } ]
    health_check: { interval: 2s }
`;
}

test('check names the engine and each frontend that stays on node, with the features why', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'c.yaml');
  writeFileSync(file, config(writeCert(dir)));
  const r = await run(process.execPath, [BIN, 'check', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configuration is valid/);
  if (!loaded.ok) {
    assert.match(r.stdout, /^engine: node \(native addon/m);
    return;
  }
  assert.match(r.stdout, /^engine: native$/m);
  // Per-client limits are the C engine's own (c/clients.c).
  assert.doesNotMatch(r.stdout, /frontend guarded runs on/);
  assert.match(r.stdout, /^frontend relay runs on engine node: the native engine does not serve passthrough mode yet$/m);
  // Passive health runs in the C engine too: a backend with checks costs nothing on native.
  assert.doesNotMatch(r.stdout, /frontend plain on engine native/);
  assert.doesNotMatch(r.stdout, /frontend plain runs on/);
});

test('global.engine: node is obeyed, and an unknown engine is refused by path', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const file = join(dir, 'c.yaml');
  writeFileSync(file, config(cert, ', engine: node'));
  const r = await run(process.execPath, [BIN, 'check', '-c', file]);
  assert.match(r.stdout, /^engine: node$/m);
  writeFileSync(file, config(cert, ', engine: rust'));
  const bad = await run(process.execPath, [BIN, 'check', '-c', file]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout + bad.stderr, /global\.engine/);
});

test('--version names the engine', async () => {
  const r = await run(process.execPath, [BIN, '--version']);
  assert.match(r.stdout, loaded.ok ? /^engine native$/m : /^engine node \(/m);
});
