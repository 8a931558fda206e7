// Publishes one thread's Redis session tier in the shared counters (families in
// worker-stats.ts): lookups by result, writes by result, timeouts, a latency histogram (per-bucket
// counts, made cumulative by /metrics) and the breaker state of this worker. Only the
// session cache is published here.
import type { BreakerState } from '../redis/breaker.ts';
import type { RedisLookupResult } from '../session-cache/redis-store.ts';
import type { SharedCounters } from './counters.ts';
import { bucketLabel } from './observe.ts';
import { counterFamily } from './worker-stats.ts';

const BREAKER_VALUE: Record<BreakerState, number> = { 'closed': 0, 'half-open': 1, 'open': 2 };

export interface RedisTierHooks {
  onLookup (result: RedisLookupResult, ms: number, timedOut: boolean): void;
  onBreaker (state: BreakerState): void;
  onWrite (written: boolean): void;
}

/** The hooks that count worker `worker`'s Redis lookups and breaker state; the breaker starts closed. */
export function redisTierMetrics (counters: SharedCounters, worker: number): RedisTierHooks {
  const lookups = counterFamily(counters, 'redisLookups');
  const buckets = counterFamily(counters, 'redisLatency');
  const timeouts = counters.slot('redisTimeouts');
  const sum = counters.slot('redisMicros');
  const breaker = counterFamily(counters, 'redisBreaker');
  const writes = counterFamily(counters, 'redisWrites');
  breaker.set([String(worker)], BREAKER_VALUE.closed);
  return {
    onBreaker: (state) => breaker.set([String(worker)], BREAKER_VALUE[state]),
    onWrite: (written) => writes.add([written ? 'ok' : 'error']),
    onLookup: (result, ms, timedOut) => {
      lookups.add(['redis', result]);
      buckets.add([bucketLabel(ms / 1000)]);
      counters.addAt(sum, Math.round(ms * 1000));
      if (timedOut) counters.addAt(timeouts, 1);
    },
  };
}
