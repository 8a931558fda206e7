// The rounds of the fixed-rate run: the median row per (server, rate), ratios taken
// within a round and their median, and the report lines built from them. Made-up rows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Row } from '../../bench/measure.ts';
import { rateSections, rateTargets } from '../../bench/rate-report.ts';
import { median, medianRows, ratiosByRound, ratioText, spreadOf } from '../../bench/rounds.ts';

function at (server: string, rate: number, cpu: number, round: number, valid = true): Row {
  return {
    server, handshakes: 1000, handshakesPerSecond: rate, resumedPct: 100, resumedOfAllPct: 100, cpuUsPerHandshake: cpu,
    serverCpuPct: 10, p50Ms: 1, p99Ms: 2, errors: 0, extra: { rate, valid, round, p: `${server} r${round}` }
  };
}
const usable = (r: Row): boolean => r.extra.valid === true;

test('median: odd, even, empty', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(spreadOf([310, 290, 300]), '290–310');
  assert.equal(spreadOf([0.812, 0.8], 2), '0.80–0.81');
  assert.equal(spreadOf([5]), '5');
});

test('medianRows: one row per server and rate, the median round, its spread, unusable rounds left out', () => {
  const rows = [at('a', 200, 300, 1), at('b', 200, 500, 1), at('a', 200, 420, 2), at('b', 200, 900, 2, false), at('a', 200, 310, 3), at('b', 200, 520, 3)];
  const out = medianRows(rows, usable);
  assert.deepEqual(out.map((r) => [r.server, r.cpuUsPerHandshake, r.extra.cpuSpread, r.extra.rounds, r.extra.p]),
    [['a', 310, '300–420', '3/3', 'a r3'], ['b', 510, '500–520', '2/3', 'b r1']]);
  // Nothing usable: the first round's row stands, still marked invalid.
  const none = medianRows([at('c', 500, 1, 1, false), at('c', 500, 2, 2, false)], usable);
  assert.equal(none[0].extra.valid, false);
  assert.equal(none[0].extra.rounds, '0/2');
});

test('ratiosByRound pairs rows of the same round; a drift shared by both cancels', () => {
  // Round 2 ran on a slower machine: both rows 30% up, the ratio unchanged.
  const ours = [at('n', 200, 80, 1), at('n', 200, 104, 2), at('n', 200, 90, 3)];
  const ref = [at('h', 200, 100, 1), at('h', 200, 130, 2), at('h', 200, 100, 3, false)];
  const ratios = ratiosByRound(ours, ref, usable);
  assert.deepEqual(ratios.map((r) => [r.round, r.ratio]), [[1, 0.8], [2, 0.8]]);
  assert.equal(ratioText(ratios), '0.80×');
  assert.equal(ratioText([{ ...ratios[0], ratio: 0.7 }, ratios[1], { ...ratios[1], round: 3, ratio: 0.95 }]), '0.80× (0.70–0.95)');
  assert.equal(ratioText([]), undefined);
});

test('report: median rows with spread, the median of the rounds\' ratios, each round\'s ratio in the target line', () => {
  const ids = [
    at('haproxy', 200, 400, 1), at('warmshake native', 200, 330, 1),
    at('warmshake native', 200, 420, 2), at('haproxy', 200, 440, 2),
    at('haproxy', 200, 300, 3), at('warmshake native', 200, 270, 3)
  ];
  const two = [at('warmshake native', 200, 360, 1), at('warmshake native', 200, 400, 2), at('warmshake native', 200, 300, 3)];
  const run = { fills: {}, rows: new Map<string, Row[]>([['rate-tls12-ids', ids], ['rate-tls12-ids-2-workers', two]]) };
  const sections = rateSections(run, false);
  const table = sections.find((s) => s.id === 'rate-tls12-ids')!;
  assert.deepEqual(table.rows.map((r) => [r.server, r.cpuUsPerHandshake, r.extra.cpuSpread, r.extra.vsHaproxy, r.extra.rounds, r.extra.compared]), [
    ['haproxy', 400, '300–440', '1.00×', '3/3', 'yes'],
    // Round ratios 0.825, 0.955, 0.9: median 0.90, though 330/400 would say 0.83.
    ['warmshake native', 330, '270–420', '0.90× (0.82–0.95)', '3/3', 'yes']
  ]);
  assert.equal(sections.find((s) => s.id === 'rate-tls12-ids-2-workers')!.rows[0].extra.vsOneWorker, '1.09× (0.95–1.11)');
  const lines = rateTargets(run, {});
  assert.ok(lines.includes('- warmshake native: resumed TLS 1.2 by session id ≤ 0.9× HAProxy — **met**: 200/s 0.90× (medians 330 vs 400 µs; rounds 0.82, 0.95, 0.90) met'), lines.join('\n'));
  assert.ok(lines.includes('- warmshake native: CPU per resumed TLS 1.2 handshake with 2 workers ≤ 1.1× with 1 — **met**: 200/s 1.09× (medians 360 vs 330 µs; rounds 1.09, 0.95, 1.11) met'), lines.join('\n'));
});
