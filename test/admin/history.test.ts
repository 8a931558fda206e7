// History: windows are "now minus the sample that old", buckets hold per-10 s deltas,
// a counter reset (a new cache after a reload) is not a negative rate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { History, Ring } from '../../src/admin/history.ts';
import { zeroTotals, type Totals } from '../../src/admin/totals.ts';

function totals (at: number, full: number, resumed: number, evictions = 0): Totals {
  const t = zeroTotals(at, ['https']);
  t.frontends.https.full = full;
  t.frontends.https.resumed = resumed;
  t.cache.evictions = evictions;
  return t;
}

test('Ring keeps the newest items in order', () => {
  const r = new Ring<number>(3);
  for (let i = 1; i <= 5; i++) r.push(i);
  assert.deepEqual(r.toArray(), [3, 4, 5]);
  assert.equal(r.at(-1), 5);
  assert.equal(r.at(0), 3);
  assert.equal(r.at(3), undefined);
});

test('window over the last 60 s and 10 s buckets of the last hour', () => {
  const start = 1_700_000_000_000;
  let current = totals(start, 0, 0);
  const h = new History(() => current, zeroTotals(start, ['https']), { recentMs: 120_000 });
  // Each second: 1 full; from second 30 on, also 3 resumed.
  let full = 0;
  let resumed = 0;
  for (let s = 1; s <= 90; s++) {
    full += 1;
    if (s >= 30) resumed += 3;
    current = totals(start + s * 1000, full, resumed, s);
    h.sample(start + s * 1000);
  }
  const w = h.window(60_000, start + 90_000);
  assert.equal(w.spanMs, 60_000);
  assert.equal(w.frontends.https.full, 60);
  assert.equal(w.frontends.https.resumed, 180);
  assert.equal(w.cache.evictions, 60);
  const young = h.window(600_000, start + 90_000);
  assert.equal(young.spanMs, 90_000, 'a window longer than the history starts at the baseline');
  assert.equal(young.frontends.https.full, 90);
  const buckets = h.buckets(start + 90_000);
  assert.ok(buckets.every((b) => b.t >= start));
  assert.equal(buckets.reduce((a, b) => a + b.frontends.https.full, 0), 90);
  assert.equal(buckets.reduce((a, b) => a + b.frontends.https.resumed, 0), 61 * 3);
  assert.ok(buckets.every((b) => b.t % 10_000 === 0));
});

test('a counter that goes down (new cache after a reload) counts from zero', () => {
  const start = 1_700_000_000_000;
  let current = totals(start + 1000, 10, 10, 50);
  const h = new History(() => current, zeroTotals(start, ['https']));
  h.sample(start + 1000);
  current = totals(start + 2000, 12, 15, 4);
  h.sample(start + 2000);
  const w = h.window(1000, start + 2000);
  assert.equal(w.cache.evictions, 4);
  assert.equal(w.frontends.https.full, 2);
});
