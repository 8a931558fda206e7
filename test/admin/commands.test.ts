// The admin commands on real shared structures: what each prints, that key bytes never
// leave, that bad input is one error line.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { runCommand } from '../../src/admin/commands.ts';
import { stickKey } from '../../src/balancer/stick-keys.ts';
import { metricKey } from '../../src/runtime/counters.ts';
import { SharedMemoryStore } from '../../src/session-cache/shared-memory-store.ts';
import { parseInfo } from './helpers.ts';
import { lightContext } from './light.ts';

const hs = (frontend: string, result: string, method: string): string => metricKey('warmshake_handshakes_total', { frontend, result, method, version: 'TLSv1.2' });

test('show info reads the counters and the cache stats', async (t) => {
  const { ctx, source } = await lightContext(t);
  source.counters.add(hs('https', 'full', 'none'), 6);
  source.counters.add(hs('https', 'resumed', 'id'), 3);
  source.counters.add(hs('https', 'resumed', 'ticket'), 1);
  source.counters.add(metricKey('warmshake_resumption_misses_total', { frontend: 'https', cause: 'expired' }), 2);
  source.counters.set(metricKey('warmshake_connections_current', { frontend: 'https', worker: '0' }), 4);
  source.counters.set(metricKey('warmshake_connections_current', { frontend: 'https', worker: '1' }), 3);
  source.store.setSync(randomBytes(32), randomBytes(300));
  source.store.getSync(randomBytes(32));
  const info = parseInfo(await runCommand('show info', ctx));
  assert.equal(info.get('SslFullHandshakes'), '6');
  assert.equal(info.get('SslResumedHandshakes'), '4');
  assert.equal(info.get('SslResumedById'), '3');
  assert.equal(info.get('SslResumptionMisses'), '2');
  assert.equal(info.get('SslFrontendSessionReuse_pct'), '40');
  assert.equal(info.get('CurrConns'), '7');
  assert.equal(info.get('SslCacheEntries'), '1');
  assert.equal(info.get('SslCacheLookups'), '1');
  assert.equal(info.get('SslCacheMisses'), '1');
  assert.equal(info.get('SslCacheSize'), '100');
  assert.equal(info.get('Nbthread'), '2');
  assert.equal(info.get('WorkerRestarts'), '1');
  assert.equal(info.get('TicketKeySource'), 'local');
});

test('show stat: CSV with a # header, FRONTEND, servers, BACKEND; health from the provider', async (t) => {
  const { ctx, source } = await lightContext(t);
  source.counters.add(hs('https', 'full', 'none'), 2);
  source.counters.add(hs('https', 'resumed', 'id'), 2);
  const withHealth = { ...source, servers: () => [{ backend: 'app', server: 's2', up: false, reason: 'connection refused', since: Date.now() - 5000 }] };
  const text = await runCommand('show stat', { ...ctx, source: withHealth });
  const [header, ...rows] = text.trimEnd().split('\n');
  assert.match(header, /^# pxname,svname,/);
  const cols = header.slice(2).split(',');
  const byName = rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i], v])));
  assert.deepEqual(byName.map((r) => `${r.pxname}/${r.svname}`), ['https/FRONTEND', 'app/s1', 'app/s2', 'app/BACKEND']);
  assert.equal(byName[0].ssl_resumed, '2');
  assert.equal(byName[0].ssl_reuse_pct, '50');
  assert.equal(byName[1].status, 'no check');
  assert.equal(byName[2].status, 'DOWN');
  assert.equal(byName[2].check_desc, 'connection refused');
  assert.equal(byName[3].status, 'UP');
  assert.equal(byName[3].act, '1');
});

test('show sessions (bounded, id prefix only) and clear sessions', async (t) => {
  const { ctx, source } = await lightContext(t);
  const ids = Array.from({ length: 5 }, () => randomBytes(32));
  for (const id of ids) source.store.setSync(id, randomBytes(200));
  const text = await runCommand('show sessions 3', ctx);
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0], /^# id bytes age ttl tier \(3 shown; shared: 5 entries\)/);
  assert.equal(lines.length, 4);
  for (const line of lines.slice(1)) {
    assert.match(line, /^[0-9a-f]{16}… bytes=\d+ age=\d+s ttl=\d+s tier=shared$/);
    assert.ok(!ids.some((id) => line.includes(id.toString('hex'))), 'never the whole id');
  }
  assert.match(await runCommand('show sessions 0', ctx), /^usage: show sessions/);
  assert.equal(await runCommand('clear sessions', ctx), 'cleared 5 sessions (shared: 5)\n');
  assert.equal(source.store.stats().entries, 0);
});

test('show keys prints names and roles, never key bytes; rotate keys adds an encrypting key', async (t) => {
  const { ctx, source } = await lightContext(t);
  const before = source.keys.keys();
  assert.equal(before.length, 1);
  const rotated = await runCommand('rotate keys', ctx);
  assert.match(rotated, /^ticket keys rotated \(source local\); encrypting key [0-9a-f]{32}\n$/);
  const text = await runCommand('show keys', ctx);
  const keys = source.keys.keys();
  assert.equal(keys.length, 2);
  assert.equal(keys[1].bytes.equals(before[0].bytes), true);
  const lines = text.trimEnd().split('\n').filter((l) => !l.startsWith('#'));
  assert.match(lines[0], new RegExp(`^0 ${keys[0].bytes.subarray(0, 16).toString('hex')} \\d+s encrypt `));
  assert.match(lines[1], new RegExp(`^1 ${keys[1].bytes.subarray(0, 16).toString('hex')} \\d+s decrypt `));
  for (const k of keys) {
    // Neither the HMAC nor the AES half, in hex or base64, anywhere in the answer.
    for (const secret of [k.bytes.subarray(16, 32), k.bytes.subarray(32, 48)]) {
      assert.ok(!text.includes(secret.toString('hex')) && !text.includes(secret.toString('base64')));
    }
  }
});

test('show table reads the pass-through stick tables', async (t) => {
  const { ctx, source } = await lightContext(t);
  assert.match(await runCommand('show table', ctx), /^# no stick table/);
  const table = SharedMemoryStore.create({ size: 10, lifetime: 60_000, maxEntryBytes: 256, maxKeyBytes: 64 });
  const id = randomBytes(32);
  table.setSync(stickKey('id', id).key, Buffer.from('s2'));
  source.tables.set('https', table);
  const text = await runCommand('show table', ctx);
  assert.match(text, /^# table: https, type: ssl-session-id, size:10, used:1\n/);
  assert.match(text, new RegExp(`key=id:${id.subarray(0, 8).toString('hex')} server=s2 age=\\d+s exp=\\d+s\\n`));
});

test('unknown commands, over-long lines and garbage are one error line', async (t) => {
  const { ctx } = await lightContext(t);
  assert.equal(await runCommand('show nothing', ctx), 'Unknown command: show nothing; try help\n');
  assert.equal(await runCommand('', ctx), 'Unknown command: empty line; try help\n');
  assert.equal(await runCommand('x'.repeat(5000), ctx), 'Unknown command: line over 4096 bytes\n');
  assert.equal(await runCommand('constructor', ctx), 'Unknown command: constructor; try help\n');
  assert.equal(await runCommand('__proto__ x', ctx), 'Unknown command: __proto__ x; try help\n');
  const garbage = await runCommand(randomBytes(300).toString('latin1'), ctx);
  assert.match(garbage, /^Unknown command: [\x20-\x7e]*\n$/);
  assert.match(await runCommand('show info extra', ctx), /^usage: show info\n$/);
  const help = await runCommand('help', ctx);
  for (const c of ['show info', 'show stat', 'show sessions', 'clear sessions', 'show keys', 'rotate keys', 'show table']) assert.ok(help.includes(c), c);
});
