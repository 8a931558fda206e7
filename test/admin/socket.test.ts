// The admin unix socket as operators use it: socat, one command per connection, mode
// 0600, garbage answered with an error line and the server still there afterwards.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startAdmin } from '../../src/admin/index.ts';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { parseInfo } from './helpers.ts';
import { lightContext } from './light.ts';

const log = createLogger({ level: 'fatal', format: 'json' });

/** Sends raw bytes, half-closes, reads the whole answer. */
function raw (path: string, bytes: Buffer, end = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(path, () => { if (end) s.end(bytes); else s.write(bytes); });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

test('socat and warmshake ctl get show info; the socket is mode 0600', async (t) => {
  const { source } = await lightContext(t);
  const admin = await startAdmin(source, log);
  t.after(() => admin.close());
  const path = admin.socketPath!;
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const { stdout } = await promisify(execFile)('sh', ['-c', `echo "show info" | socat - UNIX-CONNECT:${path}`]);
  assert.equal(parseInfo(stdout).get('Name'), 'warmshake');
  assert.equal(parseInfo(await sendAdminCommand(path, 'show info')).get('Name'), 'warmshake');
  // No trailing newline: the end of the stream ends the line.
  assert.equal(parseInfo(await raw(path, Buffer.from('show info'))).get('Name'), 'warmshake');
  // CRLF from a Windows-minded client.
  assert.equal(parseInfo(await raw(path, Buffer.from('show info\r\n'))).get('Name'), 'warmshake');
});

test('random bytes, a 10 KB line and an unknown command each get one error line; show info still works', async (t) => {
  const { source } = await lightContext(t);
  const admin = await startAdmin(source, log);
  t.after(() => admin.close());
  const path = admin.socketPath!;
  for (let i = 0; i < 5; i++) {
    const answer = await raw(path, randomBytes(512));
    assert.match(answer, /^Unknown command: [^\n]*\n$/, JSON.stringify(answer));
  }
  // Without ending its side: the server answers as soon as the line is too long.
  assert.equal(await raw(path, Buffer.alloc(10 * 1024, 'a'), false), 'Unknown command: line over 4096 bytes\n');
  assert.equal(await raw(path, Buffer.from(`${'b'.repeat(10 * 1024)}\n`)), 'Unknown command: line over 4096 bytes\n');
  assert.equal(await sendAdminCommand(path, 'make coffee'), 'Unknown command: make coffee; try help\n');
  assert.equal(await raw(path, Buffer.alloc(0)), 'Unknown command: empty line; try help\n');
  // Only the first line of a connection is run.
  assert.equal(parseInfo(await raw(path, Buffer.from('show info\nclear sessions\n'))).get('Name'), 'warmshake');
  assert.equal(parseInfo(await sendAdminCommand(path, 'show info')).get('Name'), 'warmshake');
});

test('a stale socket file is replaced; a live one or a regular file is refused', async (t) => {
  const { source, dir } = await lightContext(t);
  const path = source.config.global.admin.socket!;
  // Stale: a process that listened and exited without cleaning up leaves the file behind.
  execFileSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
  assert.equal(statSync(path).isSocket(), true);
  const admin = await startAdmin(source, log);
  assert.equal(parseInfo(await sendAdminCommand(path, 'show info')).get('Name'), 'warmshake');
  await assert.rejects(startAdmin(source, log), { code: 'WS_ERR_ADDRESS_IN_USE', message: /is already in use .*held by pid \d+/ });
  await admin.close();
  const file = join(dir, 'not-a-socket');
  writeFileSync(file, 'x');
  const other = { ...source, config: { ...source.config, global: { ...source.config.global, admin: { socket: file } } } };
  await assert.rejects(startAdmin(other, log), /not a socket/);
});
