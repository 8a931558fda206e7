// Secret files (private keys, ticket-key files, the Redis cache key) that group or others
// can read, or another user owns, are refused by check, at start and at reload, with the
// file, its mode and the fix; files that hold no usable key are named the same way.
// Real `warmshake` processes each time, as an operator would meet them.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { run, sClient } from '../helpers/peers.ts';
import { freePort } from '../../bench/ports.ts';
import { BIN, startWarmshake, terminateConfig, writeConfig } from '../helpers/warmshake.ts';
import { adminSocket, showInfo } from './helpers/process.ts';

const warmshake = (args: string[]) => run(process.execPath, ['--disable-warning=ExperimentalWarning', BIN, ...args], '', 20_000);

/** The file, its mode and the fix, on one line of stderr under the config path. */
function assertRefused (r: { code: number | null; stderr: string }, path: string, file: string, mode: string): void {
  assert.equal(r.code, 1, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith(`${path}: `));
  assert.ok(line, `no line for ${path} in: ${r.stderr}`);
  assert.ok(line.includes(file), line);
  assert.ok(line.includes(`mode ${mode}`), line);
  assert.ok(line.includes(`chmod 600 ${file}`), line);
}

async function ticketKeyFile (dir: string): Promise<string> {
  const generated = await warmshake(['keys', 'generate', '--count', '2']);
  assert.equal(generated.code, 0, generated.stderr);
  const file = join(dir, 'tickets.key');
  writeFileSync(file, generated.stdout, { mode: 0o600 });
  return file;
}

test('warmshake run refuses a private key or a ticket-key file of mode 0644, names file, mode and fix; 0600 and 0400 start', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const tickets = await ticketKeyFile(dir);
  const backend = await httpBackend(t);
  const port = await freePort();
  const config = terminateConfig({ port, backendPort: backend.port, ...cert });
  (config.tickets as Record<string, unknown>).key_file = tickets;

  // Three refused starts, each with one secret exposed (their own copies of the files, so they run at once).
  const exposed = async (which: 'key' | 'tickets', mode: number): Promise<void> => {
    const sub = join(dir, `${which}-${mode.toString(8)}`);
    mkdirSync(sub);
    const files = { key: join(sub, 'server.key'), tickets: join(sub, 'tickets.key') };
    copyFileSync(cert.key, files.key);
    copyFileSync(tickets, files.tickets);
    chmodSync(files[which], mode);
    const subConfig = terminateConfig({ port, backendPort: backend.port, cert: cert.cert, key: files.key });
    (subConfig.tickets as Record<string, unknown>).key_file = files.tickets;
    const subFile = join(sub, 'warmshake.yaml');
    writeConfig(subFile, subConfig);
    const path = which === 'key' ? 'frontends[0].certificates[0].key' : 'tickets.key_file';
    assertRefused(await warmshake(['run', '-c', subFile]), path, files[which], `0${mode.toString(8)}`);
  };
  // Group-readable only (0640) is as bad: the rule is group or others, not "world".
  await Promise.all([exposed('key', 0o644), exposed('tickets', 0o644), exposed('tickets', 0o640)]);
  chmodSync(tickets, 0o400);

  const ws = await startWarmshake(t, dir, config);
  const r = await sClient({ port: ws.ports.https, tls: '1.3' });
  assert.match(r.stdout, /hello from backend/);
});

test('warmshake check refuses a session_cache.redis.key_file of mode 0644 (no Redis needed to say so)', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const cacheKey = join(dir, 'cache.key');
  writeFileSync(cacheKey, `${'ab'.repeat(32)}\n`, { mode: 0o644 });
  const config = terminateConfig({ port: 8443, backendPort: 8080, ...cert, session_cache: { redis: { url: 'redis://127.0.0.1:6379', key_file: [cacheKey] } } });
  const file = join(dir, 'warmshake.yaml');
  writeConfig(file, config);
  assertRefused(await warmshake(['check', '-c', file]), 'session_cache.redis.key_file[0]', cacheKey, '0644');
});

test('warmshake check names a private key that is not the certificate\'s, and one OpenSSL cannot read', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const other = writeCert(dir, ['other.example'], 'other');
  const damaged = join(dir, 'damaged.key');
  writeFileSync(damaged, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', { mode: 0o600 });
  const file = join(dir, 'warmshake.yaml');
  const config = terminateConfig({ port: 8443, backendPort: 8080, cert: cert.cert, key: other.key, extraCerts: [{ cert: cert.cert, key: damaged }] });
  writeConfig(file, config);
  const r = await warmshake(['check', '-c', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(`frontends[0].certificates[0].key: ${other.key} is not the private key of ${cert.cert}`), r.stderr);
  assert.ok(r.stderr.includes(`frontends[0].certificates[1].key: ${damaged} is not a private key OpenSSL can read (`), r.stderr);
});

test('warmshake check refuses a ticket-key file or a cache key file that holds no key, without echoing it', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const tickets = await ticketKeyFile(dir);
  const lines = readFileSync(tickets, 'utf8').trimEnd().split('\n');
  const cut = lines.at(-1)!.slice(0, -8);
  writeFileSync(tickets, [...lines.slice(0, -1), cut].join('\n'));
  const cacheKey = join(dir, 'cache.key');
  writeFileSync(cacheKey, `${'ab'.repeat(16)}\n`, { mode: 0o600 });
  const config = terminateConfig({ port: 8443, backendPort: 8080, ...cert, session_cache: { redis: { url: 'redis://127.0.0.1:6379', key_file: [cacheKey] } } });
  (config.tickets as Record<string, unknown>).key_file = tickets;
  const file = join(dir, 'warmshake.yaml');
  writeConfig(file, config);
  const r = await warmshake(['check', '-c', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(`tickets.key_file: ${tickets}:${lines.length}: expected a base64 ticket key of 48 bytes`), r.stderr);
  assert.ok(r.stderr.includes(`session_cache.redis.key_file[0]: ${cacheKey} must hold 32 random bytes`), r.stderr);
  assert.ok(!r.stderr.includes(cut.slice(0, 16)) && !r.stderr.includes('abab'), r.stderr);
});

test('a key owned by another user is refused even at mode 0600', { skip: process.getuid?.() !== 0 ? 'needs root to chown a file to another user' : false }, async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const file = join(dir, 'warmshake.yaml');
  writeConfig(file, terminateConfig({ port: 8443, backendPort: 8080, ...cert }));
  chownSync(cert.key, 65534, 65534);
  const r = await warmshake(['check', '-c', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^frontends\\[0\\]\\.certificates\\[0\\]\\.key: ${cert.key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is owned by uid 65534, not by the running user \\(uid 0\\); run chown 0 `, 'm'));
});

test('SIGHUP to a config whose key became 0644 is refused and the old config keeps serving; fixed, the reload goes through', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const tickets = await ticketKeyFile(dir);
  const backend = await httpBackend(t);
  const socket = adminSocket(t);
  const config = terminateConfig({ port: await freePort(), backendPort: backend.port, ...cert, size: 1000, global: { admin: { socket: socket.path } } });
  (config.tickets as Record<string, unknown>).key_file = tickets;
  const ws = await startWarmshake(t, dir, config);
  socket.cleanUpAfterStop();
  const port = ws.ports.https;
  assert.equal((await showInfo(socket.path)).SslCacheSize, '1000');
  // The new file asks for another cache size, so which config runs is visible from outside.
  ws.rewrite({ ...config, session_cache: { size: 2000, lifetime: 300 } });

  const refusedReload = async (secret: string, path: string): Promise<void> => {
    chmodSync(secret, 0o644);
    ws.child.kill('SIGHUP');
    const line = await ws.waitForLog((l) => l.msg === 'reload refused: the running configuration stays' && String(l.err).includes(`\n  ${path}: `));
    const err = String(line.err);
    assert.ok(err.includes(`${secret} has mode 0644`) && err.includes(`chmod 600 ${secret}`), err);
    assert.equal((await showInfo(socket.path)).SslCacheSize, '1000', 'the old config must still run');
    assert.match((await sClient({ port, tls: '1.2' })).stdout, /hello from backend/);
    chmodSync(secret, 0o600);
  };
  await refusedReload(cert.key, 'frontends[0].certificates[0].key');
  await refusedReload(tickets, 'tickets.key_file');

  ws.child.kill('SIGHUP');
  await ws.waitForLog((l) => l.msg === 'configuration reloaded');
  // The admin socket kept listening through the reload (its settings did not change).
  assert.equal((await showInfo(socket.path)).SslCacheSize, '2000');
  assert.match((await sClient({ port, tls: '1.3' })).stdout, /hello from backend/);
});
