// The resumption alert on a real Supervisor: a 5-session cache under 50 returning
// clients evicts most sessions, and the warning names evictions (the alert window is
// shortened to a few seconds for the test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, handshake, parseInfo, startHarness } from './helpers.ts';
import { parsePrometheus, sumOf } from './prom-parser.ts';

test('a too-small cache under 50 returning clients: one warning naming evictions', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const h = await startHarness(t, {
    global: { resumption_alert_below: 0.5 },
    session_cache: { size: 5 },
    tickets: { enabled: false },
    admin: { sampleMs: 200, alert: { windowMs: 3000, minOffered: 20, repeatMs: 300_000 } },
    logStream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } },
  });
  const sessions: Buffer[] = [];
  for (let i = 0; i < 50; i++) sessions.push((await handshake(h.port)).session);
  let resumed = 0;
  for (const s of sessions) if ((await handshake(h.port, s)).resumed) resumed++;
  assert.ok(resumed <= 5, `a 5-session cache resumed ${resumed} of 50`);

  const warning = await eventually(async () => lines.find((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('resumption ratio')), 'the alert warning');
  assert.match(String(warning.msg), /cache too small \(\d+ evictions in the last \d+ s\): raise session_cache\.size/);
  assert.equal(warning.cause, 'evictions');
  assert.equal(warning.frontend, 'https');
  const info = parseInfo(await h.command('show info'));
  assert.equal(info.get('ResumptionAlert'), 'https: evictions');
  assert.ok(Number(info.get('SslCacheEvictions')) >= 45);
  const m = parsePrometheus((await h.get('/metrics')).body);
  assert.equal(sumOf(m, 'warmshake_resumption_alert', { frontend: 'https' }), 1);
  // Still one warning a few ticks later: it repeats every repeatMs at most.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('resumption ratio') && l.level === 40).length, 1);
});
