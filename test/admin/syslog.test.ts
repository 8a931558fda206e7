// Syslog output: RFC 5424 messages over UDP (a real dgram listener), a unix stream
// socket and a unix datagram socket (through logger), with PRI = facility * 8 + severity.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../src/runtime/logger.ts';
import { createSyslogStream, formatRfc5424 } from '../../src/runtime/syslog.ts';
import { tempDir } from '../helpers/certs.ts';
import { skipWithout } from '../helpers/missing-peers.ts';
import { waitUntil } from '../helpers/wait.ts';

interface Rfc5424 { pri: number; version: number; timestamp: string; hostname: string; app: string; procid: string; msgid: string; sd: string; msg: string }

/** The RFC 5424 header (§6), field by field. */
function parseRfc5424 (text: string): Rfc5424 {
  const m = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) ?(.*)$/s.exec(text);
  if (!m) throw new Error(`not RFC 5424: ${text}`);
  return { pri: Number(m[1]), version: Number(m[2]), timestamp: m[3], hostname: m[4], app: m[5], procid: m[6], msgid: m[7], sd: m[8], msg: m[9] };
}

const waitFor = <T>(list: T[], n: number): Promise<T[]> => waitUntil(() => list.length >= n && list, `${n} messages (got ${list.length})`);

test('formatRfc5424: PRI from facility and pino level, time from the record, text lines too', () => {
  const at = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
  const json = formatRfc5424(JSON.stringify({ level: 50, time: at, msg: 'boom' }), { facility: 'local2', appName: 'warmshake', hostname: 'gw 1', pid: 42 });
  const h = parseRfc5424(json);
  assert.equal(h.pri, 18 * 8 + 3);
  assert.equal(h.version, 1);
  assert.equal(h.timestamp, '2025-01-02T03:04:05.678Z');
  assert.equal(h.hostname, 'gw1');
  assert.equal(h.procid, '42');
  assert.equal(JSON.parse(h.msg).msg, 'boom');
  const text = parseRfc5424(formatRfc5424('2025-01-02T03:04:05.678Z WARN reload refused err=x', { facility: 'daemon', appName: 'warmshake', hostname: 'h' }));
  assert.equal(text.pri, 3 * 8 + 4);
  assert.equal(text.timestamp, '2025-01-02T03:04:05.678Z');
});

test('pino through the syslog stream to a real UDP listener', async (t) => {
  const udp = createSocket('udp4');
  const got: string[] = [];
  udp.on('message', (m) => got.push(m.toString('utf8')));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  t.after(() => udp.close());
  const stream = createSyslogStream({ target: `udp://127.0.0.1:${udp.address().port}`, facility: 'local2' });
  t.after(() => stream.close());
  const log = createLogger({ level: 'info', format: 'json' }, { worker: 'main' }, stream);
  log.info({ frontend: 'https' }, 'handshake resumed by id');
  log.warn('resumption ratio low');
  log.error('worker died');
  log.debug('not sent at level info');
  const [info, warn, error] = (await waitFor(got, 3)).map(parseRfc5424);
  assert.deepEqual([info.pri, warn.pri, error.pri], [18 * 8 + 6, 18 * 8 + 4, 18 * 8 + 3]);
  assert.equal(info.app, 'warmshake');
  assert.equal(info.procid, String(process.pid));
  assert.ok(!Number.isNaN(Date.parse(info.timestamp)));
  assert.equal(JSON.parse(info.msg).frontend, 'https');
  assert.equal(JSON.parse(warn.msg).msg, 'resumption ratio low');
});

test('text format and facility daemon over UDP', async (t) => {
  const udp = createSocket('udp4');
  const got: string[] = [];
  udp.on('message', (m) => got.push(m.toString('utf8')));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  t.after(() => udp.close());
  const stream = createSyslogStream({ target: `udp://127.0.0.1:${udp.address().port}`, facility: 'daemon' });
  t.after(() => stream.close());
  createLogger({ level: 'info', format: 'text' }, {}, stream).warn({ frontend: 'https' }, 'reload refused');
  const [m] = (await waitFor(got, 1)).map(parseRfc5424);
  assert.equal(m.pri, 3 * 8 + 4);
  assert.match(m.msg, /WARN reload refused frontend=https$/);
});

test('a unix stream socket gets one message per line', async (t) => {
  const path = join(tempDir(t), 'syslog.sock');
  const lines: string[] = [];
  const server = createServer((s) => {
    t.after(() => s.destroy());
    let rest = '';
    s.on('data', (c: Buffer) => { const parts = (rest + c.toString()).split('\n'); rest = parts.pop()!; lines.push(...parts); });
  });
  await new Promise<void>((r) => server.listen(path, r));
  const stream = createSyslogStream({ target: path });
  t.after(() => stream.close());
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const log = createLogger({ level: 'info', format: 'json' }, {}, stream);
  log.info('one');
  log.error('two\nlines');
  const [a, b] = (await waitFor(lines, 2)).map(parseRfc5424);
  assert.equal(a.pri, 18 * 8 + 6);
  assert.equal(JSON.parse(b.msg).msg, 'two\nlines');
});

test('a unix datagram socket (like /dev/log) is reached through logger', { skip: skipWithout('socat', 'logger') }, async (t) => {
  const path = join(tempDir(t), 'dev-log');
  const socat = spawn('socat', ['-u', `UNIX-RECV:${path}`, '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => { socat.kill(); });
  const got: string[] = [];
  socat.stdout.on('data', (c: Buffer) => got.push(...c.toString().split('\n').filter(Boolean)));
  await waitUntil(() => existsSync(path), `socat's socket ${path}`);
  const stream = createSyslogStream({ target: path, facility: 'local5' });
  t.after(() => stream.close());
  createLogger({ level: 'info', format: 'json' }, {}, stream).warn('via logger');
  const [m] = (await waitFor(got, 1)).map(parseRfc5424);
  assert.equal(m.pri, 21 * 8 + 4);
  assert.equal(m.app, 'warmshake');
  assert.equal(JSON.parse(m.msg).msg, 'via logger');
});
