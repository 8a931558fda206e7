// Numbers only the worker threads know (their Redis tier, their open connections),
// which they publish in the shared counters under these names. The admin side reads
// them when they are there and leaves them out when not.
import { parseSeries } from './series.ts';

export const PUBLISHED = {
  /** Added by workers: `{tier="redis",result="hit|miss|error"}` (the shared tier's come from the store's stats). */
  cacheLookups: 'warmshake_session_cache_lookups_total',
  /** Added by workers: Redis lookups that hit the timeout. */
  redisTimeouts: 'warmshake_session_cache_redis_timeouts_total',
  /** Set by each worker: `{worker="N"}` 0 closed, 1 half-open, 2 open. */
  redisBreaker: 'warmshake_session_cache_redis_breaker_state',
  /** Added by workers: `{le}` NON-cumulative like the handshake buckets, plus the sum in µs. */
  redisLatencyBucket: 'warmshake_session_cache_redis_latency_seconds_bucket',
  redisLatencySum: 'warmshake_session_cache_redis_latency_microseconds_sum',
  /** Set by each worker: `{frontend,worker}` open client connections. */
  connections: 'warmshake_connections_current',
  /** Added by workers: `{backend,server}` connections made / failed to a server. */
  serverConnections: 'warmshake_backend_connections_total',
  serverErrors: 'warmshake_backend_errors_total',
} as const;

export type BreakerView = 'closed' | 'half-open' | 'open' | 'unknown';

export interface RedisView {
  lookups: { hit: number; miss: number; error: number };
  timeouts: number;
  /** The worst state any worker reports. */
  breaker: BreakerView;
  /** Mean lookup latency, ms, or null before the first lookup. */
  meanLatencyMs: number | null;
}

export function redisView (snapshot: Map<string, number>): RedisView {
  const view: RedisView = { lookups: { hit: 0, miss: 0, error: 0 }, timeouts: 0, breaker: 'unknown', meanLatencyMs: null };
  let worst = -1;
  let count = 0;
  let micros = 0;
  for (const [key, value] of snapshot) {
    const { name, labels } = parseSeries(key);
    if (name === PUBLISHED.cacheLookups && labels.tier === 'redis') {
      const r = labels.result as keyof RedisView['lookups'];
      if (r in view.lookups) view.lookups[r] += value;
    } else if (name === PUBLISHED.redisTimeouts) view.timeouts += value;
    else if (name === PUBLISHED.redisBreaker) worst = Math.max(worst, value);
    else if (name === PUBLISHED.redisLatencyBucket) count += value;
    else if (name === PUBLISHED.redisLatencySum) micros += value;
  }
  view.breaker = worst < 0 ? 'unknown' : (['closed', 'half-open', 'open'] as const)[Math.min(2, worst)];
  view.meanLatencyMs = count > 0 ? micros / count / 1000 : null;
  return view;
}

/** Open client connections per frontend (summed over workers), or undefined if not published. */
export function currentConnections (snapshot: Map<string, number>): Map<string, number> | undefined {
  let out: Map<string, number> | undefined;
  for (const [key, value] of snapshot) {
    if (!key.startsWith(`${PUBLISHED.connections}{`)) continue;
    const fe = parseSeries(key).labels.frontend ?? '';
    out ??= new Map();
    out.set(fe, (out.get(fe) ?? 0) + value);
  }
  return out;
}
