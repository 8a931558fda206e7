// FloodWatch: one full collection when a thread's connections fall far below their peak.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FloodWatch } from '../../src/runtime/after-flood.ts';

test('collects once when connections fall to a quarter of a peak of 1000 or more', () => {
  let collections = 0;
  const watch = new FloodWatch(() => { collections++; });
  for (const open of [0, 500, 999, 200, 0]) assert.equal(watch.sample(open), false, 'no flood below 1000');
  for (const open of [4000, 10_000, 6000, 2600]) assert.equal(watch.sample(open), false, 'still above a quarter of the peak');
  assert.equal(watch.sample(2500), true);
  assert.equal(collections, 1);
  // One collection per flood: the rest of the same quiet period collects no more.
  for (const open of [600, 100, 0, 0]) assert.equal(watch.sample(open), false);
  assert.equal(collections, 1);
  // A second flood collects again.
  watch.sample(8000);
  assert.equal(watch.sample(10), true);
  assert.equal(collections, 2);
});

test('the real collection runs (V8 exposes gc to a new context)', () => {
  assert.equal(new FloodWatch().sample(1000), false);
  const watch = new FloodWatch();
  watch.sample(1000);
  assert.equal(watch.sample(0), true);
});
