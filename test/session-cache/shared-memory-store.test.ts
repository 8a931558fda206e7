import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { MemoryStore } from '../../src/session-cache/memory-store.ts';
import { SharedMemoryStore, sharedStoreBytes } from '../../src/session-cache/shared-memory-store.ts';
import { DEFAULT_STORE_OPTIONS } from '../../src/session-cache/store.ts';
import type { StoreStats } from '../../src/session-cache/store.ts';
import { storeConformance } from './conformance.ts';

storeConformance('shared-memory store', (options) => SharedMemoryStore.create(options));
storeConformance('shared-memory store (attached)', (options) => SharedMemoryStore.attach(SharedMemoryStore.create(options).buffer));

const SMALL = { size: 50, lifetime: 60_000, maxEntryBytes: 2048, maxKeyBytes: 64 };

function fixture (name: string, workerData: unknown): Worker {
  return new Worker(new URL(`./fixtures/${name}`, import.meta.url), { workerData });
}

/** The worker's one message, once it has exited; rejects if it throws (once() does). */
async function result<T> (worker: Worker): Promise<T> {
  const exited = once(worker, 'exit');
  const [message] = await once(worker, 'message');
  await exited;
  return message as T;
}

test('shared-memory store: 100,000 sessions fit in 40 MB with the defaults', () => {
  const bytes = sharedStoreBytes(DEFAULT_STORE_OPTIONS);
  assert.ok(bytes <= 40_000_000, `${bytes} bytes`);
  assert.equal(SharedMemoryStore.create(DEFAULT_STORE_OPTIONS).buffer.byteLength, bytes);
  assert.equal(SharedMemoryStore.create(DEFAULT_STORE_OPTIONS).stats().bytes, bytes);
  // 100,000 realistic entries (32-byte id, ~210-byte record) are all kept.
  const store = SharedMemoryStore.create(DEFAULT_STORE_OPTIONS);
  const value = randomBytes(210);
  for (let i = 0; i < 100_000; i++) {
    const key = Buffer.alloc(32);
    key.writeUInt32BE(i);
    store.setSync(key, value);
  }
  const stats = store.stats();
  assert.equal(stats.entries, 100_000);
  assert.equal(stats.evictions, 0);
});

test('shared-memory store: attach refuses a buffer that is not a store', () => {
  assert.throws(() => SharedMemoryStore.attach(new SharedArrayBuffer(4096)), TypeError);
  assert.throws(() => SharedMemoryStore.create({ ...SMALL, size: -1 }), RangeError);
});

test('shared-memory store: larger entries take more blocks, and the oldest make room', () => {
  const store = SharedMemoryStore.create({ ...SMALL, size: 10, blockBytes: 64, averageEntryBytes: 128 });
  const { blocks } = store.stats();
  assert.equal(blocks, 33); // room for one largest entry: (64 + 2048) / 64
  for (let i = 0; i < 10; i++) assert.equal(store.setSync(Buffer.from(`k${i}`), Buffer.alloc(600, i)), true);
  // 10 blocks each: only three fit at once.
  assert.deepEqual(store.listSync(10).map((e) => e.key.toString()), ['k9', 'k8', 'k7']);
  assert.equal(store.stats().evictions, 7);
  assert.equal(store.setSync(Buffer.from('max'), Buffer.alloc(2048, 7)), true);
  assert.deepEqual(store.getSync(Buffer.from('max')).value, Buffer.alloc(2048, 7));
  assert.equal(store.stats().entries, 1);
});

test('shared-memory store: after long churn it answers exactly as the memory store does', async () => {
  // Same policy, and blocks for the largest entry times `size`, so blocks never run out
  // first: every answer must match, while chains get scattered over the pool.
  const options = { size: 40, lifetime: 60_000, maxEntryBytes: 300, maxKeyBytes: 16, averageEntryBytes: 316 };
  const shared = SharedMemoryStore.create(options);
  const memory = new MemoryStore(options);
  let state = 12345;
  const random = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state % n;
  };
  for (let step = 0; step < 20_000; step++) {
    const key = Buffer.from(`k${random(80)}`);
    const op = random(10);
    if (op < 4) {
      const value = Buffer.alloc(2 + random(299), step & 0xff);
      value.writeUInt16LE(step & 0xffff, 0);
      assert.equal(shared.setSync(key, value), memory.setSync(key, value));
    } else if (op < 9) {
      const a = shared.getSync(key);
      const b = memory.getSync(key);
      assert.deepEqual([a.value, a.miss], [b.value, b.miss], `step ${step}`);
    } else {
      assert.equal(shared.deleteSync(key), memory.deleteSync(key));
    }
  }
  const keys = (list: { key: Buffer }[]): string[] => list.map((e) => e.key.toString());
  assert.deepEqual(keys(shared.listSync(100)), keys(await memory.list(100)));
  const counted = ['entries', 'lookups', 'hits', 'misses', 'stores', 'evictions', 'oversize'] as const;
  const pick = (stats: StoreStats): Record<string, number> => Object.fromEntries(counted.map((k) => [k, stats[k]]));
  assert.deepEqual(pick(shared.stats()), pick(memory.stats()));
});

test('shared-memory store: evicted, deleted and cleared bytes are zeroed', () => {
  const store = SharedMemoryStore.create({ ...SMALL, size: 2 });
  const memory = Buffer.from(store.buffer);
  const secret = (n: number): Buffer => Buffer.alloc(150, 0xa0 + n);
  const present = (n: number): boolean => memory.includes(secret(n));
  store.setSync(Buffer.from('s0'), secret(0));
  store.setSync(Buffer.from('s1'), secret(1));
  assert.ok(present(0) && present(1));
  store.setSync(Buffer.from('s2'), secret(2)); // evicts s0
  assert.equal(present(0), false);
  assert.equal(memory.includes(Buffer.from('s0')), false);
  store.deleteSync(Buffer.from('s1'));
  assert.equal(present(1), false);
  store.setSync(Buffer.from('s2'), secret(3)); // overwrite
  assert.equal(present(2), false);
  store.clearSync();
  assert.equal(present(3), false);
});

test('shared-memory store: a worker attached to the buffer sees the main thread\'s entries', async () => {
  const store = SharedMemoryStore.create(SMALL);
  store.setSync(Buffer.from('a'), Buffer.from('alpha'));
  store.setSync(Buffer.from('b'), Buffer.from('beta'));
  const reply = await result<{ found: (string | null)[], options: { size: number }, stats: { entries: number } }>(
    fixture('attach-worker.ts', { buffer: store.buffer, keys: ['a', 'b', 'c'] }));
  assert.deepEqual(reply.found, ['alpha', 'beta', null]);
  assert.equal(reply.options.size, SMALL.size);
  assert.equal(reply.stats.entries, 3); // the two, and its own
  assert.deepEqual(store.getSync(Buffer.from('from-worker')).value, Buffer.from('hello main'));
  assert.equal(store.stats().lookups, 4);
});

test('shared-memory store: threads hammering the same keys never read a torn or foreign value', async () => {
  const store = SharedMemoryStore.create({ ...SMALL, size: 300 });
  const workers = [1, 2, 3].map((seed) => fixture('hammer-worker.ts', { buffer: store.buffer, seed, keys: 500, durationMs: 2000 }));
  type Counts = { sets: number, gets: number, hits: number, deletes: number, bad: number, problems: string[] };
  const counts = await Promise.all(workers.map((w) => result<Counts>(w)));
  for (const c of counts) {
    assert.equal(c.bad, 0, c.problems.join('; '));
    assert.ok(c.hits > 0 && c.sets > 0);
  }
  const stats = store.stats();
  assert.equal(stats.lookups, counts.reduce((n, c) => n + c.gets, 0));
  assert.equal(stats.hits, counts.reduce((n, c) => n + c.hits, 0));
  assert.equal(stats.hits + stats.misses, stats.lookups);
  assert.ok(stats.entries <= 300);
  assert.equal(stats.lockRecoveries, 0);
  // Still consistent afterwards: every entry listed is found (or has just expired: the
  // workers gave ttls of 1 ms to 2 s).
  for (const entry of store.listSync(300)) assert.notEqual(store.getSync(entry.key).miss, 'unknown');
});

test('shared-memory store: recoverLock takes back the lock of a worker that died holding it', async () => {
  const store = SharedMemoryStore.create(SMALL);
  store.setSync(Buffer.from('kept'), Buffer.from('yes'));
  const worker = fixture('lock-holder-worker.ts', { buffer: store.buffer, dirty: false });
  const deadId = worker.threadId;
  assert.equal(await result<string>(worker), 'holding');
  assert.equal(store.recoverLock(deadId + 1000), false, 'not the owner');
  assert.equal(store.recoverLock(deadId), true);
  assert.equal(store.recoverLock(deadId), false, 'already recovered');
  // It died between changes: the entries are kept.
  assert.deepEqual(store.getSync(Buffer.from('kept')).value, Buffer.from('yes'));
  assert.equal(store.setSync(Buffer.from('new'), Buffer.from('works')), true);
  assert.deepEqual(store.getSync(Buffer.from('new')).value, Buffer.from('works'));
  const stats = store.stats();
  assert.equal(stats.lockRecoveries, 1);
  assert.equal(stats.resets, 0);
});

test('shared-memory store: a waiter breaks a stale lock, and a half-done change wipes the store', async () => {
  const created = SharedMemoryStore.create(SMALL);
  const store = SharedMemoryStore.attach(created.buffer, { staleMs: 50 });
  store.setSync(Buffer.from('lost'), Buffer.from('x'));
  const worker = fixture('lock-holder-worker.ts', { buffer: store.buffer, dirty: true });
  assert.equal(await result<string>(worker), 'holding');
  // Nobody calls recoverLock: this lookup waits, finds no progress, breaks the lock.
  assert.equal(store.getSync(Buffer.from('lost')).miss, 'unknown');
  const stats = store.stats();
  assert.equal(stats.lockRecoveries, 1);
  assert.equal(stats.resets, 1);
  assert.equal(stats.entries, 0);
  assert.equal(store.setSync(Buffer.from('after'), Buffer.from('ok')), true);
  assert.deepEqual(created.getSync(Buffer.from('after')).value, Buffer.from('ok'));
});
