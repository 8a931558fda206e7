// Publishes one thread's Redis session tier in the shared counters, under the names the
// admin side reads (admin/published.ts takes them from here): lookups by result,
// timeouts, a latency histogram (per-bucket counts, made cumulative by /metrics) and
// the breaker state of this worker. Only the session cache is published here.
import type { BreakerState } from '../redis/breaker.ts';
import type { RedisLookupResult } from '../session-cache/redis-store.ts';
import { CounterFamily, metricKey, type SharedCounters } from './counters.ts';
import { bucketLabel } from './observe.ts';

export const REDIS_SERIES = {
  /** `{tier="redis",result="hit|miss|error"}` (the shared tier's come from the store's stats). */
  lookups: 'warmshake_session_cache_lookups_total',
  /** Lookups that hit the timeout. */
  timeouts: 'warmshake_session_cache_redis_timeouts_total',
  /** `{worker="N"}` 0 closed, 1 half-open, 2 open. */
  breaker: 'warmshake_session_cache_redis_breaker_state',
  /** `{le}` NON-cumulative like the handshake buckets, plus the sum in µs. */
  latencyBucket: 'warmshake_session_cache_redis_latency_seconds_bucket',
  latencySum: 'warmshake_session_cache_redis_latency_microseconds_sum',
} as const;

const BREAKER_VALUE: Record<BreakerState, number> = { 'closed': 0, 'half-open': 1, 'open': 2 };

export interface RedisTierHooks {
  onLookup (result: RedisLookupResult, ms: number, timedOut: boolean): void;
  onBreaker (state: BreakerState): void;
}

/** The hooks that count worker `worker`'s Redis lookups and breaker state; the breaker starts closed. */
export function redisTierMetrics (counters: SharedCounters, worker: number): RedisTierHooks {
  const lookups = new CounterFamily(counters, REDIS_SERIES.lookups, ['tier', 'result']);
  const buckets = new CounterFamily(counters, REDIS_SERIES.latencyBucket, ['le']);
  const timeouts = counters.slot(REDIS_SERIES.timeouts);
  const sum = counters.slot(REDIS_SERIES.latencySum);
  const breaker = metricKey(REDIS_SERIES.breaker, { worker: String(worker) });
  counters.set(breaker, BREAKER_VALUE.closed);
  return {
    onBreaker: (state) => counters.set(breaker, BREAKER_VALUE[state]),
    onLookup: (result, ms, timedOut) => {
      lookups.add(['redis', result]);
      buckets.add([bucketLabel(ms / 1000)]);
      counters.addAt(sum, Math.round(ms * 1000));
      if (timedOut) counters.addAt(timeouts, 1);
    },
  };
}
