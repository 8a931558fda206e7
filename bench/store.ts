// Session store throughput and memory. Prints one JSON line per result:
//   node bench/store.ts [--duration 2000]
// Entries are sized like real ones (measured on Node 24 / OpenSSL 3): a 32-byte session
// id as key and a ~210-byte record (a 163-byte TLS 1.3 server session, 158 for TLS 1.2,
// plus frontend and SNI). Two-thread results run two worker_threads on one store.
import { randomBytes } from 'node:crypto';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { MemoryStore } from '../src/session-cache/memory-store.ts';
import { SharedMemoryStore, sharedStoreBytes } from '../src/session-cache/shared-memory-store.ts';
import { DEFAULT_STORE_OPTIONS } from '../src/session-cache/store.ts';

const SESSIONS = 100_000;
const KEY_BYTES = 32;
const VALUE_BYTES = 210;

type Case = 'get-hit' | 'get-miss' | 'set-with-eviction';
interface Job { buffer: SharedArrayBuffer, op: Case, durationMs: number, seed: number, span: number, start: SharedArrayBuffer }

function keyOf (n: number, salt: number): Buffer {
  const key = Buffer.alloc(KEY_BYTES, salt);
  key.writeUInt32BE(n);
  return key;
}

/**
 * Runs `op` for about `durationMs`; returns operations done and ms taken. The key is
 * one buffer rewritten before each call, as a key just parsed from a ClientHello is
 * (an array of 100,000 key buffers would add its own cache misses to the store's).
 * `span` is how many distinct stored sessions get-hit walks (all, or a hot few).
 */
function run (store: SharedMemoryStore | MemoryStore, op: Case, durationMs: number, seed: number, span = SESSIONS): { ops: number, ms: number } {
  const value = randomBytes(VALUE_BYTES);
  const key = Buffer.alloc(KEY_BYTES, op === 'get-hit' ? 0 : op === 'get-miss' ? 1 + seed : 100 + seed);
  // get-hit: a prime stride from a per-thread offset, a random-looking walk over `span`.
  // set-with-eviction: twice the capacity, so a key comes back only long after its eviction.
  const modulo = op === 'set-with-eviction' ? 2 * SESSIONS : span;
  let ops = 0;
  let n = seed * 104_729;
  const begin = performance.now();
  let now = begin;
  while (now - begin < durationMs) {
    for (let i = 0; i < 1000; i++, ops++) {
      n = (n + 7919) % modulo;
      key.writeUInt32BE(n);
      if (op === 'set-with-eviction') store.setSync(key, value);
      else store.getSync(key);
    }
    now = performance.now();
  }
  return { ops, ms: now - begin };
}

function filled (): SharedMemoryStore {
  const store = SharedMemoryStore.create(DEFAULT_STORE_OPTIONS);
  const value = randomBytes(VALUE_BYTES);
  for (let i = 0; i < SESSIONS; i++) store.setSync(keyOf(i, 0), value);
  return store;
}

function print (result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ bench: 'session-store', ...result })}\n`);
}

async function onThreads (store: SharedMemoryStore, op: Case, threads: number, durationMs: number, span = SESSIONS): Promise<number> {
  const start = new SharedArrayBuffer(4);
  const workers = Array.from({ length: threads }, (_, seed) => new Worker(new URL(import.meta.url), {
    workerData: { buffer: store.buffer, op, durationMs, seed, span, start } satisfies Job,
  }));
  const results = workers.map((w) => new Promise<{ ops: number, ms: number }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  }));
  // Let every worker load, then start them together.
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
  await new Promise((resolve) => setTimeout(resolve, 500));
  Atomics.store(new Int32Array(start), 0, 1);
  Atomics.notify(new Int32Array(start), 0);
  const done = await Promise.all(results);
  return done.reduce((sum, r) => sum + r.ops / r.ms * 1000, 0);
}

async function main (): Promise<void> {
  const at = process.argv.indexOf('--duration');
  const durationMs = at > 0 ? Number(process.argv[at + 1]) : 2000;

  const bytes = sharedStoreBytes(DEFAULT_STORE_OPTIONS);
  const store = filled();
  const stats = store.stats();
  print({
    case: 'memory', sessions: SESSIONS, keyBytes: KEY_BYTES, valueBytes: VALUE_BYTES, kept: stats.entries,
    sharedBytes: bytes, bytesPerSession: Math.round(bytes / SESSIONS), megabytes: +(bytes / 1e6).toFixed(1),
  });

  for (const op of ['get-hit', 'get-miss', 'set-with-eviction'] as const) {
    const one = run(op === 'set-with-eviction' ? filled() : store, op, durationMs, 0);
    print({ case: op, tier: 'shared', threads: 1, sessions: SESSIONS, opsPerSec: Math.round(one.ops / one.ms * 1000) });
    const two = await onThreads(op === 'set-with-eviction' ? filled() : store, op, 2, durationMs);
    print({ case: op, tier: 'shared', threads: 2, sessions: SESSIONS, opsPerSec: Math.round(two) });
  }
  // The same lookups over 1,000 sessions: what the store costs when its memory is in cache.
  const hot = run(store, 'get-hit', durationMs, 0, 1000);
  print({ case: 'get-hit-hot', tier: 'shared', threads: 1, sessions: 1000, opsPerSec: Math.round(hot.ops / hot.ms * 1000) });

  const memory = new MemoryStore(DEFAULT_STORE_OPTIONS);
  const value = randomBytes(VALUE_BYTES);
  for (let i = 0; i < SESSIONS; i++) memory.setSync(keyOf(i, 0), value);
  const m = run(memory, 'get-hit', durationMs, 0);
  print({ case: 'get-hit', tier: 'memory', threads: 1, sessions: SESSIONS, opsPerSec: Math.round(m.ops / m.ms * 1000) });
}

if (isMainThread) {
  await main();
} else {
  const job = workerData as Job;
  const store = SharedMemoryStore.attach(job.buffer);
  Atomics.wait(new Int32Array(job.start), 0, 0);
  parentPort!.postMessage(run(store, job.op, job.durationMs, job.seed, job.span));
}
