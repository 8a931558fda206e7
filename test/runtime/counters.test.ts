// The shared counters take the same lock as the shared stores (shm-lock.ts): threads that
// register names at the same time lose none and never give two names one slot.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SharedCounters } from '../../src/runtime/counters.ts';

const WORKERS = 4;
const NAMES = 300;

test('names registered by several threads at once: none lost, none merged', async () => {
  const counters = SharedCounters.create();
  const workers = Array.from({ length: WORKERS }, (_, worker) =>
    new Worker(new URL('./fixtures/counters-worker.ts', import.meta.url), { workerData: { buffer: counters.buffer, worker, names: NAMES } }));
  await Promise.all(workers.map((w) => once(w, 'message')));
  await Promise.all(workers.map((w) => w.terminate()));
  const snapshot = counters.snapshot();
  assert.equal(snapshot.size, NAMES + WORKERS * NAMES);
  for (let i = 0; i < NAMES; i++) assert.equal(snapshot.get(`shared_total{n="${i}"}`), WORKERS);
  for (let w = 0; w < WORKERS; w++) assert.equal(counters.get(`own_total{worker="${w}",n="7"}`), 2);
});

test('recoverLock takes nothing from a thread that does not hold the lock', () => {
  const counters = SharedCounters.create(8);
  counters.add('a_total');
  assert.equal(counters.recoverLock(12345), false);
  counters.add('b_total');
  assert.deepEqual([...counters.snapshot()], [['a_total', 1], ['b_total', 1]]);
});
