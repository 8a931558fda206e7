// The pure parts of `npm run bench`: its argument parser, the ratio to the best anchor
// and the Markdown it writes. No timing here: the numbers are made up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../../bench/args.ts';
import { alternate } from '../../bench/context.ts';
import type { ScenarioReport } from '../../bench/context.ts';
import type { Row } from '../../bench/measure.ts';
import { ratioOf, renderReport } from '../../bench/report.ts';

function row (server: string, cpu: number, extra: Record<string, unknown> = {}): Row {
  return {
    server, handshakes: 1000, handshakesPerSecond: 500, resumedPct: 100, resumedOfAllPct: 97, cpuUsPerHandshake: cpu,
    serverCpuPct: 40, p50Ms: 1, p99Ms: 2, errors: 0, extra
  };
}

test('parseArgs reads --quick, --only lists, --duration and --out', () => {
  assert.deepEqual(parseArgs(['--quick', '--only', 'tls12-ids,memory', '--only', 'fleet', '--duration', '2', '--out', '/tmp/x.md']),
    { quick: true, only: ['tls12-ids', 'memory', 'fleet'], duration: 2, out: '/tmp/x.md', help: false });
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
