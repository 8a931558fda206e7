// The native engine counts its handshakes, errors and stored sessions itself, in shared
// memory (src/native/counters.ts), so /metrics and `show info` hold every handshake made
// even when the event ring that feeds the logs had to drop records. Shown with a ring of
// one record (WARMSHAKE_NATIVE_EVENT_RING=1: every record that comes while one waits is
// dropped) at log level debug (where a stored session's record is sent as well as the
// handshake's: at warn the engine sends neither, log-level-records.test.ts), Python's
// clients make full and resumed handshakes over TLS 1.2 (session id)
// and TLS 1.3 (stateful tickets), and /metrics counts exactly what the clients saw, while
// the log has fewer handshake lines and warmshake_native_events_dropped_total says why.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { loadAddon } from '../../src/native/addon.ts';
import { eventually, parseInfo } from '../admin/helpers.ts';
import { parsePrometheus, sumOf } from '../admin/prom-parser.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { skipBecause } from '../helpers/missing-peers.ts';
import { pythonResume } from '../helpers/peers.ts';
import { startWarmshake, terminateConfig, testEnv } from '../helpers/warmshake.ts';

const loaded = loadAddon();

test('native: /metrics and show info count every handshake, also those whose event the ring dropped', { skip: loaded.ok ? false : skipBecause(`native addon not loaded: ${loaded.ok ? '' : loaded.reason}`) }, async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const socket = join(dir, 'admin.sock');
  testEnv(t, 'WARMSHAKE_NATIVE_EVENT_RING', '1');
  const ws = await startWarmshake(t, dir, terminateConfig({
    engine: 'native', backendPort: backend.port, ...cert, tickets: false,
    global: { admin: { socket, http: '127.0.0.1:0' }, log: { level: 'debug', format: 'json' } },
  }));
  const http = `http://${String((await ws.waitForLog((l) => l.msg === 'admin http listening')).address)}`;
  const port = ws.ports.https;

  const runs = await Promise.all([
    pythonResume(port, '1.2', 12), pythonResume(port, '1.2', 12), pythonResume(port, '1.3', 12), pythonResume(port, '1.3', 12),
  ]);
  const tally = (from: boolean[][], resumed: boolean): number => from.flat().filter((r) => r === resumed).length;
  const expected = {
    full12: tally(runs.slice(0, 2), false), id12: tally(runs.slice(0, 2), true),
    full13: tally(runs.slice(2), false), stateful13: tally(runs.slice(2), true),
  };
  assert.ok(expected.id12 > 0 && expected.stateful13 > 0, `the clients resumed: ${JSON.stringify(runs)}`);
  const total = runs.flat().length;

  const metrics = await eventually(async () => {
    const families = parsePrometheus(await (await fetch(`${http}/metrics`)).text());
    return sumOf(families, 'warmshake_handshakes_total', { frontend: 'https' }) >= total ? families : undefined;
  }, `${total} handshakes in /metrics`);
  const count = (result: string, method: string, version: string): number =>
    sumOf(metrics, 'warmshake_handshakes_total', { frontend: 'https', result, method, version });
  assert.deepEqual({
    full12: count('full', 'none', 'TLSv1.2'), id12: count('resumed', 'id', 'TLSv1.2'),
    full13: count('full', 'none', 'TLSv1.3'), stateful13: count('resumed', 'stateful_ticket', 'TLSv1.3'),
  }, expected);
  assert.equal(sumOf(metrics, 'warmshake_handshakes_total', { frontend: 'https' }), total);
  assert.equal(sumOf(metrics, 'warmshake_handshake_duration_seconds_count', { frontend: 'https' }), total);
  // Sessions stored: one per full TLS 1.2 handshake at least (TLS 1.3 stores each stateful ticket).
  assert.ok(sumOf(metrics, 'warmshake_sessions_stored_total', { frontend: 'https', result: 'stored' }) >= expected.full12);

  const dropped = sumOf(metrics, 'warmshake_native_events_dropped_total');
  assert.ok(dropped > 0, 'a ring of one record drops some');
  const logged = ws.logs.filter((l) => /^handshake (full|resumed)/.test(l.msg)).length;
  assert.ok(logged < total, `${logged} handshake lines logged of ${total} made`);

  const info = parseInfo(await sendAdminCommand(socket, 'show info'));
  assert.equal(Number(info.get('SslFullHandshakes')), expected.full12 + expected.full13);
  assert.equal(Number(info.get('SslResumedHandshakes')), expected.id12 + expected.stateful13);
});
