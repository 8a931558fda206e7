// The thread's beat: periodic jobs share one timer, jobs of one period run in the same
// wake-up, and a stopped job runs no more.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BEAT_MS, every } from '../src/beat.ts';

test('jobs of one period run together, a job of half the period on every beat', async () => {
  const runs: string[] = [];
  const stops: Array<() => void> = [];
  const enough = new Promise<void>((resolve) => {
    // Jobs run in the order they came: on a 1 s beat, sync then a then b.
    stops.push(every(BEAT_MS, () => runs.push('sync')));
    stops.push(every(2 * BEAT_MS, () => runs.push('a')));
    stops.push(every(2 * BEAT_MS, () => { runs.push('b'); if (runs.filter((r) => r === 'b').length === 2) resolve(); }));
  });
  // Keeps the test process alive while the unref'd beat runs.
  const alive = setInterval(() => {}, 1 << 30);
  await enough;
  for (const stop of stops) stop();
  clearInterval(alive);
  // The 1 s jobs run in one wake-up, with the 500 ms job, which also runs alone on the beats between.
  assert.match(runs.join(' '), /^(sync )?sync a b sync sync a b$/);
});

test('a stopped job runs no more; a period off the beat runs on a timer of its own', async () => {
  let stopped = 0;
  const stop = every(BEAT_MS, () => { stopped++; });
  stop();
  let own = 0;
  await new Promise<void>((resolve) => {
    const alive = setInterval(() => {}, 1 << 30);
    const stopOwn = every(30, () => { if (++own === 3) { stopOwn(); clearInterval(alive); resolve(); } });
  });
  // The beat job was stopped before its first beat (500 ms) and the 30 ms job's three runs.
  assert.equal(own, 3);
  assert.equal(stopped, 0);
});
