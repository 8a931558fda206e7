// Handshake lines follow the log level across reloads, on both engines, and at `warn` the
// native engine sends its worker no handshake record at all (nothing would log it; it
// counts in shared memory): with an event ring of one record (WARMSHAKE_NATIVE_EVENT_RING=1,
// where native-counters.test.ts sees records dropped at `info`), Python's concurrent
// clients then make every handshake counted and none dropped. Reloaded back to `info`,
// handshakes are logged again. A reload is waited for with `show info` (Reloads), since
// `configuration reloaded` is an info line.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { eventually, parseInfo } from '../admin/helpers.ts';
import { parsePrometheus, sumOf } from '../admin/prom-parser.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { pythonResume } from '../helpers/peers.ts';
import { startWarmshake, terminateConfig, testEnv, type LogRecord } from '../helpers/warmshake.ts';

const isHandshake = (l: LogRecord): boolean => /^handshake (full|resumed)/.test(l.msg);

for (const engine of ENGINES) {
  test(`${engine}: handshakes are logged at info, not at warn, following reloads; at warn every one is still counted`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const socket = join(dir, 'admin.sock');
    testEnv(t, 'WARMSHAKE_NATIVE_EVENT_RING', '1');
    const config = terminateConfig({ engine, backendPort: backend.port, ...cert, tickets: false, global: { admin: { socket, http: '127.0.0.1:0' } } });
    const ws = await startWarmshake(t, dir, config);
    const http = `http://${String((await ws.waitForLog((l) => l.msg === 'admin http listening')).address)}`;
    const port = ws.ports.https;
    const metrics = async (): Promise<ReturnType<typeof parsePrometheus>> => parsePrometheus(await (await fetch(`${http}/metrics`)).text());
    const counted = async (n: number): Promise<ReturnType<typeof parsePrometheus>> =>
      eventually(async () => { const m = await metrics(); return sumOf(m, 'warmshake_handshakes_total', { frontend: 'https' }) >= n ? m : undefined; }, `${n} handshakes counted`);
    const reload = async (level: string, reloads: number): Promise<void> => {
      ws.rewrite({ ...config, global: { ...(config.global as object), log: { level, format: 'json' } } });
      ws.child.kill('SIGHUP');
      await eventually(async () => Number(parseInfo(await sendAdminCommand(socket, 'show info')).get('Reloads')) >= reloads || undefined, `reload ${reloads}`);
    };

    // One handshake at a time at info: a ring of one record must not drop what is asserted.
    // (A full handshake's stored-session record is not sent either: only `debug` logs it,
    // so the one slot holds the handshake's.)
    const lines = (n: number): Promise<LogRecord> => ws.waitForLog(() => ws.logs.filter(isHandshake).length >= n);

    // info: the handshake is logged.
    assert.deepEqual(await pythonResume(port, '1.2', 1), [false]);
    await lines(1);

    // warn: counted, not logged, and on native not even sent (none dropped from a ring of one).
    await reload('warn', 1);
    const before = await counted(1);
    const droppedBefore = sumOf(before, 'warmshake_native_events_dropped_total');
    const runs = await Promise.all([pythonResume(port, '1.2', 12), pythonResume(port, '1.2', 12), pythonResume(port, '1.2', 12), pythonResume(port, '1.2', 12)]);
    const made = runs.flat();
    const after = await counted(1 + made.length);
    assert.equal(sumOf(after, 'warmshake_handshakes_total', { frontend: 'https', result: 'resumed', method: 'id' }), made.filter((r) => r).length);
    assert.equal(sumOf(after, 'warmshake_native_events_dropped_total') - droppedBefore, 0, 'no record was sent to drop');

    // info again: logged again.
    await reload('info', 2);
    assert.deepEqual(await pythonResume(port, '1.2', 1), [false]);
    await lines(2);
    assert.deepEqual(ws.logs.filter(isHandshake).map((l) => [l.msg, l.frontend]), [['handshake full', 'https'], ['handshake full', 'https']],
      'the handshakes made at warn were not logged');
  });
}
