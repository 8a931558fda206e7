// Publishes one thread's Redis session tier in the shared counters, under the names the
// admin side reads (admin/published.ts): lookups by result, timeouts, a latency
// histogram (per-bucket counts, made cumulative by /metrics) and the breaker state of
// this worker. Only the session cache is published here; stick tables have their own series.
import type { BreakerState } from '../session-cache/breaker.ts';
import type { RedisStore } from '../session-cache/redis-store.ts';
import { CounterFamily, metricKey, type SharedCounters } from './counters.ts';
import { bucketLabel } from './observe.ts';
import { PUBLISHED } from '../admin/published.ts';

const BREAKER_VALUE: Record<BreakerState, number> = { 'closed': 0, 'half-open': 1, 'open': 2 };

export function publishRedisTier (store: RedisStore, counters: SharedCounters, worker: number): void {
  const lookups = new CounterFamily(counters, PUBLISHED.cacheLookups, ['tier', 'result']);
  const buckets = new CounterFamily(counters, PUBLISHED.redisLatencyBucket, ['le']);
  const timeouts = counters.slot(PUBLISHED.redisTimeouts);
  const sum = counters.slot(PUBLISHED.redisLatencySum);
  const breaker = metricKey(PUBLISHED.redisBreaker, { worker: String(worker) });
  counters.set(breaker, BREAKER_VALUE[store.breakerState()]);
  store.on('breaker', (state) => counters.set(breaker, BREAKER_VALUE[state]));
  store.on('lookup', (result, ms, timedOut) => {
    lookups.add(['redis', result]);
    buckets.add([bucketLabel(ms / 1000)]);
    counters.addAt(sum, Math.round(ms * 1000));
    if (timedOut) counters.addAt(timeouts, 1);
  });
}
