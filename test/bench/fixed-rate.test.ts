// Smoke test of `npm run bench`'s fixed-rate mode against a real warmshake (whichever
// engine this build defaults to): a small session pool stored, then two rounds of one
// second of open-loop load at a fixed rate, and the row and report in the shape docs/benchmarks.md
// is written from. No timing assertion: the rate may be missed on a busy machine, and
// then the row says so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BenchContext } from '../../bench/context.ts';
import { runFixedRate } from '../../bench/fixed-rate.ts';
import { rateSections, rateTargets } from '../../bench/rate-report.ts';
import { renderReport } from '../../bench/report.ts';
import { startBackend } from '../../bench/servers/index.ts';
import { generateSelfSigned } from '../../src/certs/self-signed.ts';

test('fixed-rate mode: a stored pool, two rounds of one second at 50 handshakes/s, rows with rate, drops, group and round; the median row and verdict', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'warmshake-bench-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { cert, key } = generateSelfSigned({ names: ['localhost'], keyType: 'ec' });
  const pair = { cert: join(root, 'ec.crt'), key: join(root, 'ec.key') };
  writeFileSync(pair.cert, cert);
  writeFileSync(pair.key, key, { mode: 0o600 });
  const backend = await startBackend('0');
  t.after(() => backend.stop());
  const ctx: BenchContext = {
    quick: true, root, certs: { ec: pair, rsa: pair }, backendPort: backend.port,
    serverCpus: '0', clientCpus: '0', allCpus: '0', duration: 1, servers: ['warmshake'],
    redisKeyFile: join(root, 'none'), redis: async () => undefined, redisPid: () => undefined
  };
  const run = await runFixedRate(ctx, [{ kind: 'warmshake', label: 'warmshake' }], {
    cases: ['rate-tls12-ids'], rates: [50], rounds: 2,
    fill: { cache: { ids12: 30 }, tickets: {}, workers2: {} }
  });
  assert.match(Object.entries(run.fills).map(([k, v]) => `${k}: ${v}`).join('\n'), /^warmshake cache ids12: 30 of 30 in/);
  const rows = run.rows.get('rate-tls12-ids') ?? [];
  assert.equal(rows.length, 2);
  assert.deepEqual(rows.map((r) => r.extra.round), [1, 2]);
  assert.match(run.fills.settled ?? '', /after the last fill; CPU ms\/s in the last second: warmshake cache \d/);
  // The shape the report and the JSON lines are made of, through a JSON round trip.
  const row = JSON.parse(JSON.stringify(rows[0])) as Record<string, unknown> & { extra: Record<string, unknown> };
  assert.equal(row.server, 'warmshake');
  for (const key of ['handshakes', 'handshakesPerSecond', 'resumedPct', 'cpuUsPerHandshake', 'serverCpuPct', 'clientCpuPct', 'p50Ms', 'p99Ms', 'errors']) {
    assert.equal(typeof row[key], 'number', key);
  }
  assert.equal(row.extra.rate, 50);
  assert.equal(typeof row.extra.dropped, 'number');
  assert.equal(typeof row.extra.valid, 'boolean');
  assert.equal(row.extra.pool, 30);
  assert.equal(row.extra.group, 'X25519');
  assert.ok((row.handshakes as number) > 0, JSON.stringify(row));
  // Every offer came from the stored pool, so every handshake offered a session and resumed.
  assert.equal(row.resumedPct, 100, JSON.stringify(row));

  const sections = rateSections(run, true);
  const md = renderReport({
    env: { nproc: 2, cpuModel: 'test', kernel: 'test', loadAverage: '0 0 0', versions: {} },
    command: 'test', startedAt: new Date(0), minutes: 0, quick: true, skipped: {}, pinning: 'test',
    scenarios: sections, targets: rateTargets(run, { 'warmshake native': 'not available: test' })
  });
  // One median row of the two rounds, with how many were usable.
  assert.equal(sections[0].rows.length, 1);
  assert.match(md, /\| warmshake \| 50 \| [\d.]+ \| \d+ \| \d+ \| 100 \|/);
  assert.match(md, /\| [0-2]\/2 \|\n/);
  assert.match(md, /- warmshake: resumed TLS 1\.2 by session id ≤ 0\.9× HAProxy — not measured: 50\/s not compared \(HAProxy not measured\)/);
  assert.match(md, /- warmshake native: not available: test; its targets are not measured\./);
});
