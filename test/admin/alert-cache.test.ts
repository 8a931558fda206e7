// The resumption alert on a real Supervisor: a 5-session cache under 50 returning
// clients evicts most sessions, and the warning names evictions (the alert window is
// shortened to a few seconds for the test, and the test decides when it has passed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { monitorFor } from '../../src/admin/monitor.ts';
import { eventually, handshake, parseInfo, startHarness, type Harness } from './helpers.ts';
import { parsePrometheus, sumOf } from './prom-parser.ts';

/** How many handshakes the counters have seen (they arrive from the worker through shared memory). */
async function handshakesCounted (h: Harness, n: number): Promise<void> {
  await eventually(async () => sumOf(parsePrometheus((await h.get('/metrics')).body), 'warmshake_handshakes_total') >= n || undefined, `${n} handshakes counted`);
}

// The monitor is driven by the test at the times it chooses (its own timer is set to
// an hour): the window then holds exactly the returning clients, however long the 50
// full handshakes took on a busy machine.
test('a too-small cache under 50 returning clients: one warning naming evictions', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const windowMs = 3000;
  const h = await startHarness(t, {
    global: { resumption_alert_below: 0.5 },
    session_cache: { size: 5 },
    tickets: { enabled: false },
    admin: { sampleMs: 3_600_000, alert: { windowMs, minOffered: 20, repeatMs: 300_000 } },
    logStream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } },
  });
  const monitor = monitorFor(h.sup, h.log);
  const sessions: Buffer[] = [];
  for (let i = 0; i < 50; i++) sessions.push((await handshake(h.port)).session);
  await handshakesCounted(h, 50);
  // A sample, not a tick: the window starts here, and nothing is decided on the full
  // handshakes before it (a tick would judge them, however long they took).
  const start = Date.now();
  monitor.history.sample(start);
  let resumed = 0;
  for (const s of sessions) if ((await handshake(h.port, s)).resumed) resumed++;
  assert.ok(resumed <= 5, `a 5-session cache resumed ${resumed} of 50`);
  await handshakesCounted(h, 100);
  monitor.tick(start + windowMs);

  const warnings = (): Array<Record<string, unknown>> => lines.filter((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('resumption ratio'));
  const warning = await eventually(async () => warnings()[0], 'the alert warning');
  assert.match(String(warning.msg), /cache too small \(\d+ evictions in the last 3 s\): raise session_cache\.size/);
  assert.equal(warning.cause, 'evictions');
  assert.equal(warning.frontend, 'https');
  const info = parseInfo(await h.command('show info'));
  assert.equal(info.get('ResumptionAlert'), 'https: evictions');
  assert.ok(Number(info.get('SslCacheEvictions')) >= 45);
  const m = parsePrometheus((await h.get('/metrics')).body);
  assert.equal(sumOf(m, 'warmshake_resumption_alert', { frontend: 'https' }), 1);
  // Still one warning a few ticks later: it repeats every repeatMs at most.
  for (const later of [1, 2, 3]) monitor.tick(start + windowMs + later * 200);
  assert.equal(warnings().length, 1);
});
