// The resumption alert on both engines at log level `warn`, from openssl s_client's
// handshakes: 25 clients make full TLS 1.2 handshakes, `clear sessions` empties the cache,
// so their return is 25 misses (the warning fires), and the round after, with the sessions
// made on that return, resumes all (the alert clears). At `warn` the native engine sends no
// handshake records to its worker (nothing logs them): the alert reads the handshake and
// miss counters the engine keeps in shared memory. The monitor is driven by the test at
// the times it chooses, as in alert-cache.test.ts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { monitorFor } from '../../src/admin/monitor.ts';
import { ENGINES } from '../helpers/engines.ts';
import { run } from '../helpers/peers.ts';
import { eventually, parseInfo, startHarness, type Harness } from './helpers.ts';
import { parsePrometheus, sumOf } from './prom-parser.ts';

const CLIENTS = 25;

async function handshakesCounted (h: Harness, n: number): Promise<void> {
  await eventually(async () => sumOf(parsePrometheus((await h.get('/metrics')).body), 'warmshake_handshakes_total') >= n || undefined, `${n} handshakes counted`);
}

/** One round: each client connects with its saved session (if any) and saves the one it gets; how many resumed. */
async function round (h: Harness): Promise<number> {
  let reused = 0;
  for (let i = 0; i < CLIENTS; i++) {
    const file = join(h.dir, `client-${i}.pem`);
    // Without -ign_eof, the empty stdin ends the connection once the handshake is done.
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${h.port}`, '-tls1_2', '-servername', 'localhost',
      '-sess_out', file, ...(existsSync(file) ? ['-sess_in', file] : [])]);
    assert.match(r.stdout, /^(New|Reused),/m, r.stderr);
    if (/^Reused,/m.test(r.stdout)) reused++;
  }
  return reused;
}

for (const engine of ENGINES) {
  test(`${engine}: at log level warn the resumption alert fires on misses and clears on resumptions`, async (t) => {
    const lines: Array<Record<string, unknown>> = [];
    const windowMs = 3000;
    const h = await startHarness(t, {
      global: { engine, resumption_alert_below: 0.5 },
      tickets: { enabled: false },
      admin: { sampleMs: 3_600_000, alert: { windowMs, minOffered: 20, repeatMs: 300_000 } },
      logStream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } },
    });
    assert.equal(h.sup.config.global.log.level, 'warn');
    const monitor = monitorFor(h.sup, h.log);

    assert.equal(await round(h), 0, 'first visits are full handshakes');
    await handshakesCounted(h, CLIENTS);
    assert.match(await h.command('clear sessions'), /\d+/);
    const start = Date.now();
    monitor.history.sample(start);
    assert.equal(await round(h), 0, 'every session was cleared');
    await handshakesCounted(h, 2 * CLIENTS);
    monitor.tick(start + windowMs);

    const warning = await eventually(async () => lines.find((l) => l.level === 40 && String(l.msg).includes('resumption ratio')), 'the alert warning');
    assert.equal(warning.frontend, 'https');
    assert.equal(warning.offered, CLIENTS);
    assert.equal(warning.resumed, 0);
    assert.deepEqual(warning.misses, { unknown: CLIENTS });
    assert.equal(warning.cause, 'not_found');
    assert.equal(parseInfo(await h.command('show info')).get('ResumptionAlert'), 'https: not_found');

    assert.equal(await round(h), CLIENTS, 'the sessions made on the return resume');
    await handshakesCounted(h, 3 * CLIENTS);
    monitor.tick(start + 2 * windowMs);
    const state = monitor.alerts().get('https');
    assert.equal(state?.below, false);
    assert.equal(state?.ratio, 1);
    assert.equal(parseInfo(await h.command('show info')).get('ResumptionAlert'), 'none');
  });
}
