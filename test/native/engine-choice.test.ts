// Which engine a config runs on, as `warmshake check`, `--version` and the start log say.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../src/config/schema.ts';
import { loadAddon } from '../../src/native/addon.ts';
import { nativeGaps } from '../../src/native/choice.ts';
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
    use_backend: [ { sni: api.example.com, backend: api }, { sni: "*.example.com", backend: app } ]
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
  - name: api
    servers: [ { name: s1, address: 127.0.0.1:8081 } ]
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
  // Passive health runs in the C engine too: a backend with checks costs nothing on native;
  // nor do use_backend and allow/deny.
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

test('nativeGaps: use_backend and long allow/deny lists are native up to the engine\'s room per frontend', () => {
  const names = Array.from({ length: 17 }, (_, i) => `b${i}`);
  const { config, errors } = validateConfig({
    frontends: [1, 16].map((n) => ({
      name: `f${n}`, bind: `127.0.0.1:${n}`, certificates: [{ cert: '/c', key: '/k' }], backend: 'b0',
      use_backend: names.slice(1, n + 1).map((b) => ({ sni: `${b}.example.com`, backend: b })),
      deny: Array.from({ length: 5000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`),
    })),
    backends: names.map((name) => ({ name, servers: [{ name: 's', address: '127.0.0.1:2' }] })),
  }, '/', 'test');
  assert.deepEqual(errors, []);
  assert.deepEqual(nativeGaps(config!, config!.frontends[0]), []);
  assert.deepEqual(nativeGaps(config!, config!.frontends[1]), ['use_backend naming more than 16 backends']);
});
