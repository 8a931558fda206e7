// Latency of a session lookup through TieredStore on loopback: a Redis-tier hit (the
// shared-memory tier does not hold the key, so it is read from Redis, opened, and copied
// into the fast tier) and a fast-tier hit. Target: p99 < 1 ms for both. Starts its own
// redis-server on a free port; prints one JSON line per result.
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { createRedisClient, waitReady } from '../src/redis/client.ts';
import { RedisStore } from '../src/session-cache/redis-store.ts';
import { Sealer } from '../src/redis/seal.ts';
import { SharedMemoryStore } from '../src/session-cache/shared-memory-store.ts';
import { DEFAULT_STORE_OPTIONS } from '../src/session-cache/store.ts';
import { TieredStore } from '../src/session-cache/tiered-store.ts';
import { redisSkipReason, startRedis } from './redis-server.ts';

const N = Number(process.env.BENCH_N ?? 20_000);
const WARMUP = 1000;
/** A TLS 1.3 session as OpenSSL serializes it is a few hundred bytes up to ~2 KB with a chain. */
const VALUE_BYTES = 1024;

function report (name: string, samples: number[], extra: Record<string, number> = {}): void {
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  console.log(JSON.stringify({ bench: 'redis-tier', name, cpus: availableParallelism(), load1: Math.round(loadavg()[0] * 100) / 100, n: samples.length, p50_ms: round(at(0.5)), p99_ms: round(at(0.99)), max_ms: round(samples.at(-1) ?? 0), mean_ms: round(mean), ...extra }));
}

async function main (): Promise<void> {
  const skip = redisSkipReason();
  if (skip) {
    console.log(JSON.stringify({ bench: 'redis-tier', skipped: skip }));
    return;
  }
  const redis = await startRedis();
  const client = createRedisClient({ url: redis.url });
  try {
    await waitReady(client, 5000);
    const total = N + WARMUP;
    const fast = SharedMemoryStore.create({ ...DEFAULT_STORE_OPTIONS, size: total + 10, averageEntryBytes: VALUE_BYTES + 64 });
    const sealer = new Sealer([randomBytes(32)]);
    // Measured with the production defaults (timeout 50 ms, breaker 5 errors / 5 s).
    const slow = new RedisStore(client, sealer, { prefix: 'bench:' });
    const tiered = new TieredStore(fast, slow);
    const keys = Array.from({ length: total }, () => randomBytes(32));
    const value = randomBytes(VALUE_BYTES);
    // Filled through a patient store, so that a busy machine cannot open the measured store's breaker before the run.
    const filler = new RedisStore(client, sealer, { prefix: 'bench:', timeout: 5000, breakerErrors: 1e9 });
    for (let i = 0; i < total; i += 50) {
      const stored = await Promise.all(keys.slice(i, i + 50).map((k) => filler.set(k, value, 600_000)));
      if (stored.includes(false)) throw new Error('could not fill Redis');
    }

    // Redis-tier hits: every key is new to the fast tier, so each lookup goes to Redis.
    // A lookup that times out (a stalled machine) is kept as a sample and counted.
    const redisHits: number[] = [];
    let redisMisses = 0;
    for (let i = 0; i < total; i++) {
      const started = performance.now();
      const r = await tiered.get(keys[i]);
      const took = performance.now() - started;
      if (i < WARMUP) continue;
      redisHits.push(took);
      if (r.tier !== 'redis' || !r.value) redisMisses++;
    }
    report('tiered get, redis-tier hit (fast tier empty), 1 KB value', redisHits, { misses: redisMisses });

    // Fast-tier hits: the lookups above filled the fast tier.
    const fastHits: number[] = [];
    let notFast = 0;
    for (let i = 0; i < total; i++) {
      const started = performance.now();
      const r = await tiered.get(keys[i]);
      const took = performance.now() - started;
      if (i < WARMUP) continue;
      fastHits.push(took);
      if (r.tier !== 'shared') notFast++;
    }
    report('tiered get, fast-tier (shared memory) hit, 1 KB value', fastHits, { notFast });

    // A set resolves after the fast tier; the Redis write follows in the background.
    const sets: number[] = [];
    for (let i = 0; i < total; i++) {
      const started = performance.now();
      await tiered.set(keys[i], value, 600_000);
      if (i >= WARMUP) sets.push(performance.now() - started);
      if (i % 50 === 0) await tiered.flush();
    }
    await tiered.flush();
    report('tiered set (fast tier now, redis behind), 1 KB value', sets);
    const s = tiered.stats();
    console.log(JSON.stringify({ bench: 'redis-tier', name: 'stats', slowWriteFailures: s.slowWriteFailures, redisErrors: s.tiers.slow.errors, redisTimeouts: slow.stats().timeouts, breakerRejected: slow.stats().rejected }));
  } finally {
    client.disconnect();
    await redis.stop();
  }
}

await main();
