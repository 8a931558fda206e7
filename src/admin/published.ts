// Numbers only the worker threads know (their Redis tier, their open connections),
// which they publish in the shared counters under these names. The admin side reads
// them when they are there and leaves them out when not.
import { REDIS_SERIES } from '../runtime/redis-metrics.ts';
import { parseSeries } from './series.ts';

export const PUBLISHED = {
  /** The Redis tier's series, as runtime/redis-metrics.ts writes them. */
  cacheLookups: REDIS_SERIES.lookups,
  redisTimeouts: REDIS_SERIES.timeouts,
  redisBreaker: REDIS_SERIES.breaker,
  redisLatencyBucket: REDIS_SERIES.latencyBucket,
  redisLatencySum: REDIS_SERIES.latencySum,
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
