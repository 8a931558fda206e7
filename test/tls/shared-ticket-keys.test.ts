import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { SharedTicketKeys } from '../../src/tls/shared-ticket-keys.ts';
import { generateTicketKey } from '../../src/tls/ticket-key.ts';
import type { TicketKey } from '../../src/tls/ticket-key.ts';

const hex = (keys: readonly TicketKey[]): string[] => keys.map((k) => k.bytes.toString('hex'));

test('shared ticket keys: empty at first', () => {
  const ring = SharedTicketKeys.create(3);
  assert.deepEqual(ring.keys(), []);
  assert.equal(ring.generation(), 0);
});

test('shared ticket keys: push puts the newest first and keeps maxKeys', () => {
  const ring = SharedTicketKeys.create(3);
  const made = [1, 2, 3, 4].map((n) => generateTicketKey(1_700_000_000_000 + n));
  for (const key of made) ring.push(key);
  assert.deepEqual(hex(ring.keys()), hex([made[3], made[2], made[1]]));
  assert.deepEqual(ring.keys().map((k) => k.created), [1_700_000_000_004, 1_700_000_000_003, 1_700_000_000_002]);
  assert.equal(ring.generation(), 4);
});

test('shared ticket keys: keys() is cached until the generation changes', () => {
  const ring = SharedTicketKeys.create(2);
  ring.push(generateTicketKey());
  const first = ring.keys();
  assert.equal(ring.keys(), first, 'same array when unchanged');
  assert.ok(Object.isFrozen(first));
  const before = ring.generation();
  ring.push(generateTicketKey());
  assert.notEqual(ring.generation(), before);
  assert.notEqual(ring.keys(), first);
  assert.equal(ring.keys().length, 2);
});

test('shared ticket keys: keys are copies of what was pushed', () => {
  const ring = SharedTicketKeys.create(2);
  const key = generateTicketKey();
  const original = Buffer.from(key.bytes);
  ring.push(key);
  key.bytes.fill(0);
  assert.deepEqual(ring.keys()[0].bytes, original);
});

test('shared ticket keys: replace sets the whole ring and checks key sizes', () => {
  const ring = SharedTicketKeys.create(3);
  ring.push(generateTicketKey());
  const fresh = [generateTicketKey(5), generateTicketKey(4), generateTicketKey(3), generateTicketKey(2)];
  ring.replace(fresh);
  assert.deepEqual(hex(ring.keys()), hex(fresh.slice(0, 3)));
  ring.replace([]);
  assert.deepEqual(ring.keys(), []);
  const generation = ring.generation();
  assert.throws(() => ring.replace([{ bytes: Buffer.alloc(47), created: 0 }]), RangeError);
  assert.equal(ring.generation(), generation, 'a refused write changes nothing');
  assert.throws(() => SharedTicketKeys.create(0), RangeError);
  assert.throws(() => SharedTicketKeys.attach(new SharedArrayBuffer(64)), TypeError);
});

test('shared ticket keys: a worker reads the same keys, and its push is seen here', async () => {
  const ring = SharedTicketKeys.create(3);
  const made = [generateTicketKey(10), generateTicketKey(20)];
  ring.replace(made);
  const mine = SharedTicketKeys.attach(ring.buffer);
  const worker = new Worker(new URL('./fixtures/ticket-keys-worker.ts', import.meta.url), { workerData: { buffer: ring.buffer, mode: 'read' } });
  // Listen for the exit first: a worker that ends before this thread reads its message
  // delivers the message and the exit in one go, and a later once('exit') would wait forever.
  const exited = once(worker, 'exit');
  const [reply] = await once(worker, 'message') as [{ seen: { hex: string, created: number }[], generation: number }];
  await exited;
  assert.deepEqual(reply.seen, made.map((k) => ({ hex: k.bytes.toString('hex'), created: k.created })));
  assert.equal(mine.generation(), reply.generation);
  assert.deepEqual(mine.keys()[0], { bytes: Buffer.alloc(48, 0x77), created: 42 });
  assert.deepEqual(hex(mine.keys().slice(1)), hex(made));
});

test('shared ticket keys: a reader never sees a torn key while another thread rewrites the ring', async () => {
  const ring = SharedTicketKeys.create(4);
  const worker = new Worker(new URL('./fixtures/ticket-keys-worker.ts', import.meta.url), { workerData: { buffer: ring.buffer, mode: 'watch', durationMs: 500 } });
  const done = once(worker, 'message') as Promise<[{ reads: number, torn: number, changes: number }]>;
  let exited = false;
  worker.once('exit', () => { exited = true; });
  for (let n = 0; !exited; n = (n + 1) & 0xff) {
    ring.push({ bytes: Buffer.alloc(48, n), created: n });
    if (n % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const [{ reads, torn, changes }] = await done;
  assert.equal(torn, 0);
  assert.ok(reads > 0 && changes > 1, `${reads} reads, ${changes} changes`);
});
