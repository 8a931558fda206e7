// Key bytes never leave warmshake: not in its logs (at trace level), not in the admin
// socket's answers, not in the error messages of a refused reload, a bad key file or a
// failed start. The needles: each ticket key of a `warmshake keys generate` file (its
// 32 secret bytes, the halves, the per-certificate keys derived from it), the private
// key (its scalar and its PEM lines), and the TLS session secrets the clients saw.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { loadCertificate } from '../../src/tls/certificates.ts';
import { boundTicketKey } from '../../src/tls/contexts.ts';
import { parseTicketKeyFile } from '../../src/tls/ticket-key-file.ts';
import { TICKET_KEY_NAME_BYTES } from '../../src/tls/ticket-key.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { run, sClient } from '../helpers/peers.ts';
import { freePort } from '../../bench/ports.ts';
import { BIN, startWarmshake, terminateConfig, writeConfig } from '../helpers/warmshake.ts';
import { adminSocket } from './helpers/process.ts';
import { findLeaks, pemBody, type Secret } from './helpers/secrets.ts';
import { rawClient } from './helpers/sockets.ts';

const warmshake = (args: string[]) => run(process.execPath, ['--disable-warning=ExperimentalWarning', BIN, ...args]);

/** Every secret the test knows of, named without their bytes. */
function secretsOf (ticketFile: string, cert: { cert: string; key: string }): Secret[] {
  const secrets: Secret[] = [];
  const loaded = loadCertificate(cert);
  parseTicketKeyFile(readFileSync(ticketFile, 'utf8'), ticketFile).forEach((key, i) => {
    const secret = key.bytes.subarray(TICKET_KEY_NAME_BYTES);
    secrets.push(
      { name: `ticket key ${i} secret (32 bytes)`, bytes: secret },
      { name: `ticket key ${i} HMAC half`, bytes: secret.subarray(0, 16) },
      { name: `ticket key ${i} AES half`, bytes: secret.subarray(16) },
      { name: `ticket key ${i} bound to the certificate`, bytes: boundTicketKey(key, 'https', loaded).subarray(TICKET_KEY_NAME_BYTES) },
    );
  });
  const pem = readFileSync(cert.key, 'utf8');
  const d = createPrivateKey(pem).export({ format: 'jwk' }).d!;
  secrets.push({ name: 'private key scalar', bytes: Buffer.from(d, 'base64url') });
  pemBody(pem).forEach((line, i) => secrets.push({ name: `private key PEM line ${i + 1}`, text: line }));
  return secrets;
}

/** The session secrets s_client printed (TLS 1.2 master key, TLS 1.3 resumption PSK). */
function sessionSecrets (stdout: string, label: string): Secret[] {
  return [...stdout.matchAll(/(Master-Key|Resumption PSK): ([0-9A-F]{32,})/g)].map((m, i) => ({ name: `${label} ${m[1]} ${i}`, bytes: Buffer.from(m[2], 'hex') }));
}

test('key bytes never appear in logs, admin answers or error messages', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const generated = await warmshake(['keys', 'generate', '--count', '3']);
  assert.equal(generated.code, 0, generated.stderr);
  const ticketFile = join(dir, 'tickets.key');
  writeFileSync(ticketFile, generated.stdout, { mode: 0o600 });
  const secrets = secretsOf(ticketFile, cert);
  // The detector itself: it must see every ticket key in the file it came from.
  const found = findLeaks(secrets.filter((s) => s.name.endsWith('secret (32 bytes)')), { file: generated.stdout });
  assert.equal(new Set(found.map((h) => h.secret)).size, 3);

  const socket = adminSocket(t);
  const config = terminateConfig({ port: await freePort(), backendPort: backend.port, ...cert, global: { admin: { socket: socket.path }, log: { level: 'trace', format: 'json' } } });
  (config.tickets as Record<string, unknown>).key_file = ticketFile;
  const ws = await startWarmshake(t, dir, config);
  socket.cleanUpAfterStop();
  let stdout = '';
  let stderr = '';
  ws.child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
  ws.child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const port = ws.ports.https;

  // Traffic of every kind: session ids, TLS 1.2 and 1.3 tickets, resumed, and a garbage connection.
  const clients: string[] = [];
  for (const [tls, noTicket] of [['1.2', true], ['1.2', false], ['1.3', false]] as const) {
    const sess = join(dir, `s-${tls}-${noTicket}`);
    const first = await sClient({ port, tls, noTicket, sessOut: sess });
    const again = await sClient({ port, tls, noTicket, sessIn: sess });
    assert.equal(again.reused, 1, again.stdout);
    clients.push(first.stdout, again.stdout);
  }
  clients.forEach((out, i) => secrets.push(...sessionSecrets(out, `s_client run ${i}`)));
  assert.ok(secrets.some((s) => s.name.includes('Master-Key')) && secrets.some((s) => s.name.includes('Resumption PSK')));
  await rawClient({ port, payload: Buffer.from('\x16\x03\x01\x00\x05garbage', 'latin1') });

  const answers: Record<string, string> = {};
  for (const command of ['show info', 'show keys', 'show sessions', 'show stat', 'help', 'rotate keys']) {
    answers[`admin: ${command}`] = await sendAdminCommand(socket.path, command);
  }
  // Not vacuous: the keys shown are the file's, by name, and sessions are cached.
  const names = parseTicketKeyFile(generated.stdout, 'generated').map((k) => k.bytes.toString('hex', 0, TICKET_KEY_NAME_BYTES));
  for (const name of names) assert.match(answers['admin: show keys'], new RegExp(` ${name} `));
  assert.match(answers['admin: show sessions'], /[0-9a-f]{8}/);

  // Error paths that handle the key files: a damaged line in the ticket-key file...
  const lines = generated.stdout.trimEnd().split('\n');
  const damaged = [...lines.slice(0, -1), lines.at(-1)!.slice(0, -8)].join('\n') + '\n';
  writeFileSync(ticketFile, damaged);
  answers['admin: rotate keys (damaged file)'] = await sendAdminCommand(socket.path, 'rotate keys');
  await ws.waitForLog((l) => l.msg === 'ticket keys not refreshed; the current ring stays in use');
  writeFileSync(ticketFile, generated.stdout);
  // ... a reload refused for a key file others can read ...
  chmodSync(ticketFile, 0o644);
  ws.child.kill('SIGHUP');
  await ws.waitForLog((l) => l.msg === 'reload refused: the running configuration stays');
  chmodSync(ticketFile, 0o600);
  // ... and a start that fails on a damaged private key and a damaged ticket-key file.
  const broken = join(dir, 'broken');
  const brokenKey = `${broken}.key`;
  const pem = readFileSync(cert.key, 'utf8').split('\n');
  pem[1] = pem[1].split('').reverse().join('');
  writeFileSync(brokenKey, pem.join('\n'), { mode: 0o600 });
  writeFileSync(`${broken}.tickets`, damaged, { mode: 0o600 });
  const brokenConfig = terminateConfig({ port: await freePort(), backendPort: backend.port, cert: cert.cert, key: brokenKey, global: { log: { level: 'trace', format: 'json' } } });
  (brokenConfig.tickets as Record<string, unknown>).key_file = `${broken}.tickets`;
  writeConfig(`${broken}.yaml`, brokenConfig);
  const failed = await warmshake(['run', '-c', `${broken}.yaml`]);
  assert.equal(failed.code, 1, failed.stdout);
  assert.match(failed.stderr, /^frontends\[0\]\.certificates\[0\]\.key: \S+broken\.key is not a private key OpenSSL can read \(/m);
  chmodSync(ticketFile, 0o644);
  const checked = await warmshake(['check', '-c', ws.configFile]);
  chmodSync(ticketFile, 0o600);
  assert.equal(checked.code, 1);

  const hits = findLeaks(secrets, {
    'warmshake stdout (after start)': stdout,
    'warmshake stderr (after start)': stderr,
    'warmshake log records': ws.logs.map((l) => JSON.stringify(l)).join('\n'),
    ...answers,
    'failed start stdout': failed.stdout,
    'failed start stderr': failed.stderr,
    'check stdout': checked.stdout,
    'check stderr': checked.stderr,
  });
  assert.deepEqual(hits, []);
  // The output searched was real: handshakes at trace level, and the errors above.
  assert.ok(ws.logs.filter((l) => l.resumed === true).length >= 3);
  assert.ok(ws.logs.some((l) => l.stage === 'client_hello' || l.stage === 'timeout'));
});
