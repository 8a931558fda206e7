// What an operator sees of state changes (issue 12): a server's DOWN reason and last
// change in `show stat`, /api/stats and /metrics (one gauge, aggregated over the worker
// threads). Real warmshake processes, a real backend, a port nobody listens on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { eventually, parseInfo } from '../admin/helpers.ts';
import { parsePrometheus, sumOf } from '../admin/prom-parser.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { CLOSED_PORT } from '../../bench/ports.ts';
import { ENGINES } from '../helpers/engines.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';

/** `show stat` as one object per row, by `pxname/svname`. */
function parseStat (csv: string): Map<string, Record<string, string>> {
  const [head, ...rows] = csv.trimEnd().split('\n');
  const columns = head.replace(/^# /, '').split(',');
  return new Map(rows.map((r) => {
    // HAProxy-style CSV: a field with a comma or quote is quoted, quotes doubled.
    const cells = [...r.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)].map((m) => m[1].replace(/^"|"$/g, '').replace(/""/g, '"'));
    const row = Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
    return [`${row.pxname}/${row.svname}`, row];
  }));
}

test('a server DOWN shows its reason and last change in show stat, /api/stats and /metrics, over 2 workers', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const dead = CLOSED_PORT;
  const socket = join(dir, 'admin.sock');
  const config = terminateConfig({ backendPort: backend.port, ...cert, workers: 2, global: { admin: { socket, http: '127.0.0.1:0' } } });
  (config.backends as Array<Record<string, unknown>>)[0] = {
    name: 'app',
    servers: [{ name: 's1', address: `127.0.0.1:${backend.port}` }, { name: 's2', address: `127.0.0.1:${dead}` }],
    health_check: { interval: '200ms', rise: 1, fall: 1, timeout: '500ms' },
  };
  const ws = await startWarmshake(t, dir, config);
  const http = `http://${String((await ws.waitForLog((l) => l.msg === 'admin http listening')).address)}`;
  // The start line names the port the admin side took, not the configured 0.
  const served = (await ws.waitForLog((l) => l.msg === 'warmshake is serving')).admin as { http: { host: string; port: number } };
  assert.equal(`http://${served.http.host}:${served.http.port}`, http);

  const row = await eventually(async () => {
    const r = parseStat(await sendAdminCommand(socket, 'show stat')).get('app/s2');
    return r?.status === 'DOWN' ? r : undefined;
  }, 'app/s2 DOWN in show stat');
  assert.match(row.check_desc, /refused/i, `check_desc: ${row.check_desc}`);
  assert.match(row.lastchg, /^\d+$/, 'lastchg in seconds');
  assert.equal(row.act, '0');
  const up = parseStat(await sendAdminCommand(socket, 'show stat')).get('app/s1')!;
  assert.equal(up.status, 'UP');
  assert.equal(up.check_desc, '');
  assert.match(up.lastchg, /^\d+$/, 'lastchg of a server that never changed: since the checks began');

  const stats = await (await fetch(`${http}/api/stats`)).json() as { backends: Array<{ servers: Array<{ name: string; status: string; reason: string | null; lastChangeSec: number | null }> }> };
  const s2 = stats.backends[0].servers.find((s) => s.name === 's2')!;
  assert.equal(s2.status, 'DOWN');
  assert.match(s2.reason ?? '', /refused/i);
  assert.equal(typeof s2.lastChangeSec, 'number');

  const m = parsePrometheus(await (await fetch(`${http}/metrics`)).text());
  assert.equal(sumOf(m, 'warmshake_backend_server_up', { server: 's2' }), 0);
  assert.equal(sumOf(m, 'warmshake_backend_server_up', { server: 's1' }), 1, 'up in both workers: 1, not 2');
  assert.equal(m.get('warmshake_backend_server_up')?.samples.length, 2, 'one series per server, no worker label');
  assert.equal(m.has('warmshake_server_up'), false, 'the duplicate gauge is gone');
});

test('reloads are counted: show info and /metrics give the count, the last result and time, and the running config\'s hash', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const socket = join(dir, 'admin.sock');
  const config = terminateConfig({ backendPort: backend.port, ...cert, global: { admin: { socket, http: '127.0.0.1:0' } } });
  const ws = await startWarmshake(t, dir, config);
  const http = `http://${String((await ws.waitForLog((l) => l.msg === 'admin http listening')).address)}`;
  const hashOf = () => createHash('sha256').update(readFileSync(ws.configFile)).digest('hex').slice(0, 16);
  const info = async () => parseInfo(await sendAdminCommand(socket, 'show info'));
  const before = await info();
  assert.equal(before.get('ConfigHash'), hashOf());
  assert.equal(before.get('Reloads'), '0');
  assert.equal(before.get('LastReloadResult'), 'none');

  ws.rewrite({ ...config, frontends: 'none' });
  ws.child.kill('SIGHUP');
  const refused = await ws.waitForLog((l) => l.msg === 'reload refused: the running configuration stays');
  assert.ok(refused.level >= 40, 'a failed reload is logged at warn or above');
  const failed = await info();
  assert.equal(failed.get('ReloadsFailed'), '1');
  assert.match(failed.get('LastReloadResult') ?? '', /^failed: .*frontends/);
  assert.equal(failed.get('ConfigHash'), before.get('ConfigHash'), 'the old configuration still runs');

  ws.rewrite({ ...config, global: { ...(config.global as object), resumption_alert_below: 0.2 } });
  ws.child.kill('SIGHUP');
  const done = await ws.waitForLog((l) => /^reload 1 done: configuration [0-9a-f]{16} running$/.test(l.msg));
  assert.equal(done.level, 30, 'a successful reload is logged at info, shown at the default level');
  const after = await info();
  assert.equal(after.get('Reloads'), '1');
  assert.equal(after.get('LastReloadResult'), 'ok');
  assert.equal(after.get('ConfigHash'), hashOf());
  assert.notEqual(after.get('ConfigHash'), before.get('ConfigHash'));
  assert.ok(Math.abs(Date.parse(after.get('LastReload')!) - Date.now()) < 600_000, 'LastReload is a time');

  const m = parsePrometheus(await (await fetch(`${http}/metrics`)).text());
  assert.equal(sumOf(m, 'warmshake_reloads_total', { result: 'ok' }), 1);
  assert.equal(sumOf(m, 'warmshake_reloads_total', { result: 'failed' }), 1);
  assert.equal(sumOf(m, 'warmshake_last_reload_success'), 1);
  assert.equal(sumOf(m, 'warmshake_config_info', { hash: hashOf() }), 1);
});

for (const engine of ENGINES) test(`engine ${engine}: SIGTERM: the admin endpoints answer while connections drain, and connections cut at shutdown_timeout are logged and counted`, async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const socket = join(dir, 'admin.sock');
  const config = terminateConfig({ engine, backendPort: backend.port, ...cert, global: { admin: { socket, http: '127.0.0.1:0' }, shutdown_timeout: '3s' } });
  const ws = await startWarmshake(t, dir, config);
  const http = `http://${String((await ws.waitForLog((l) => l.msg === 'admin http listening')).address)}`;
  // A client that stays connected: s_client with its stdin held open, no request sent.
  const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${ws.ports.https}`, '-quiet'], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.after(() => client.kill());
  const clientExit = new Promise((resolve) => client.once('exit', resolve));
  await ws.waitForLog((l) => l.msg === 'handshake full');
  await eventually(async () => (parseInfo(await sendAdminCommand(socket, 'show info')).get('CurrConns') === '1' ? true : undefined), 'CurrConns 1');

  ws.child.kill('SIGTERM');
  await ws.waitForLog((l) => l.msg === 'stopping: draining connections');
  const health = await eventually(async () => {
    const res = await fetch(`${http}/healthz`);
    const body = await res.text();
    return res.status === 503 ? { status: res.status, body } : undefined;
  }, '/healthz while draining');
  assert.equal(health.body, 'draining\n');
  assert.equal(parseInfo(await sendAdminCommand(socket, 'show info')).get('CurrConns'), '1', 'show info answers during the drain');

  const cut = await ws.waitForLog((l) => /connections still open after shutdown_timeout \(3000 ms\) were cut$/.test(l.msg));
  assert.equal(cut.cut, 1);
  assert.equal(cut.level, 40);
  const line = ws.logs.find((l) => l.stage === 'shutdown');
  assert.match(String(line?.msg), /^connection closed at shutdown: still open after shutdown_timeout/);
  assert.equal(await ws.stop(), 0);
  await clientExit;
});
