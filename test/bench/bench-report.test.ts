// The pure parts of `npm run bench`: its argument parser, the ratio to the best anchor
// and the Markdown it writes. No timing here: the numbers are made up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../../bench/args.ts';
import { alternate } from '../../bench/context.ts';
import type { ScenarioReport } from '../../bench/context.ts';
import type { Row } from '../../bench/measure.ts';
import { rateSections, rateTargets } from '../../bench/rate-report.ts';
import { ratioOf, renderReport } from '../../bench/report.ts';

function row (server: string, cpu: number, extra: Record<string, unknown> = {}): Row {
  return {
    server, handshakes: 1000, handshakesPerSecond: 500, resumedPct: 100, resumedOfAllPct: 97, cpuUsPerHandshake: cpu,
    serverCpuPct: 40, p50Ms: 1, p99Ms: 2, errors: 0, extra
  };
}

test('parseArgs reads --quick, --only lists, --duration, --fill, --rounds, --cases and --out', () => {
  assert.deepEqual(parseArgs(['--quick', '--only', 'tls12-ids,memory', '--only', 'fleet', '--duration', '2', '--out', '/tmp/x.md']),
    { quick: true, only: ['tls12-ids', 'memory', 'fleet'], duration: 2, out: '/tmp/x.md', help: false, fill: undefined, rounds: undefined, cases: [] });
  assert.equal(parseArgs(['--fill', '5000']).fill, 5000);
  assert.equal(parseArgs(['--rounds', '5']).rounds, 5);
  assert.throws(() => parseArgs(['--rounds', '0']), /--rounds/);
  assert.deepEqual(parseArgs(['--cases', 'rate-tls12-ids,rate-tls13-stateful']).cases, ['rate-tls12-ids', 'rate-tls13-stateful']);
  assert.throws(() => parseArgs(['--fill', '3']), /--fill/);
  assert.throws(() => parseArgs(['--duration', '0']), /duration/);
  assert.throws(() => parseArgs(['--bogus']), /unknown argument/);
  assert.throws(() => parseArgs(['--only']), /needs a value/);
});

test('alternate rotates and reverses so no peer always goes first', () => {
  const order = [0, 1, 2, 3].map((i) => alternate(['a', 'b', 'c'], i)[0]);
  assert.deepEqual(order, ['a', 'a', 'c', 'c']);
  assert.deepEqual(alternate(['a', 'b', 'c'], 1), ['a', 'c', 'b']);
});

test('ratioOf compares warmshake with the best anchor, either direction', () => {
  const rows = [row('warmshake', 120), row('haproxy', 100), row('nginx', 80)];
  assert.deepEqual(ratioOf(rows, { key: 'cpuUsPerHandshake', lowerIsBetter: true, title: 'cpu' }), { ratio: 1.5, anchor: 'nginx' });
  const resumed = [row('warmshake', 1, { r: 99 }), row('haproxy', 1, { r: 33 }), row('nginx', 1, { r: 30 })];
  assert.equal(ratioOf(resumed, { key: 'extra.r', lowerIsBetter: false, title: 'r' })?.anchor, 'HAProxy');
  assert.equal(ratioOf([row('warmshake', 1)], { key: 'cpuUsPerHandshake', lowerIsBetter: true, title: 'cpu' }), undefined);
});

test('renderReport writes the machine, the targets and one table per scenario', () => {
  const scenario: ScenarioReport = {
    id: 'tls12-ids', title: 'TLS 1.2 resumed by session id', setup: 'TLS 1.2',
    columns: [{ key: 'server', title: 'server' }, { key: 'cpuUsPerHandshake', title: 'cpu' }],
    rows: [row('warmshake', 110), row('haproxy', 100)],
    ratios: [{ key: 'cpuUsPerHandshake', lowerIsBetter: true, title: 'CPU per handshake' }],
    notes: ['a note']
  };
  const md = renderReport({
    env: { nproc: 2, cpuModel: 'Test CPU', kernel: '6.0', loadAverage: '0 0 0', versions: { node: 'v24' } },
    command: 'npm run bench', startedAt: new Date(0), minutes: 1, quick: false, skipped: { nginx: 'not installed' },
    pinning: 'none', scenarios: [scenario], targets: ['- warmshake native: a target — **met**: 500/s 0.80×']
  });
  assert.match(md, /`nproc` = 2, Test CPU/);
  assert.match(md, /\*\*nginx skipped\*\*: not installed/);
  assert.match(md, /## Where we stand vs the targets\n\n- warmshake native: a target — \*\*met\*\*: 500\/s 0\.80×/);
  assert.match(md, /\| warmshake \| 110 \|/);
  assert.match(md, /best anchor \(HAProxy\), CPU per handshake: \*\*1\.10×\*\*/);
});

test('fixed-rate targets: per engine and rate, met or missed with figures; a row that missed its rate is not compared', () => {
  const at = (server: string, rate: number, cpu: number, achieved = rate): Row => ({
    ...row(server, cpu, { rate, valid: achieved >= rate * 0.97 }), handshakesPerSecond: achieved
  });
  const run = {
    fills: {},
    rows: new Map<string, Row[]>([
      ['rate-tls12-ids', [at('haproxy', 200, 500), at('warmshake native', 200, 400), at('haproxy', 500, 400), at('warmshake native', 500, 380, 450)]],
      ['rate-tls12-ids-2-workers', [at('warmshake native', 200, 420)]]
    ])
  };
  const sections = rateSections(run, false);
  const ids = sections.find((s) => s.id === 'rate-tls12-ids')!;
  assert.deepEqual(ids.rows.map((r) => [r.extra.vsHaproxy, r.extra.compared]), [
    ['1.00×', 'yes'], ['0.80×', 'yes'], ['1.00×', 'yes'], [undefined, 'no: achieved 90% of the rate']
  ]);
  const two = sections.find((s) => s.id === 'rate-tls12-ids-2-workers')!;
  assert.equal(two.rows[0].extra.vsOneWorker, '1.05×');
  assert.ok(two.columns.some((c) => c.title === '× 1 worker') && !two.columns.some((c) => c.title === '× HAProxy'));
  const lines = rateTargets(run, { 'warmshake node': 'not available: test' });
  assert.ok(lines.includes('- warmshake native: resumed TLS 1.2 by session id ≤ 0.9× HAProxy — **met**: 200/s 0.80× (400 vs 500 µs) met; 500/s not compared (warmshake native missed the rate by more than 3% or failed)'), lines.join('\n'));
  assert.ok(lines.includes('- warmshake native: CPU per resumed TLS 1.2 handshake with 2 workers ≤ 1.1× with 1 — **met**: 200/s 1.05× (420 vs 400 µs) met'), lines.join('\n'));
  assert.ok(lines.includes('- warmshake native: resumed TLS 1.2 by ticket ≤ 0.9× HAProxy — not measured'), lines.join('\n'));
  assert.ok(lines.includes('- warmshake node: not available: test; its targets are not measured.'));
});
