// What the worker threads count in the shared counters (counters.ts), as typed
// families, and the typed snapshot the main thread reads them into. Workers write
// through FAMILIES; the admin side reads `readStats(...)` (plain objects with named
// fields) or, for /metrics, the entries themselves: admin/metrics.ts alone knows the
// Prometheus name of each family.
import { CounterFamily, type CounterEntry, type SharedCounters } from './counters.ts';

/** Each family's label names, in the order writers give the values. */
export const FAMILIES = {
  handshakes: ['frontend', 'result', 'method', 'version'],
  /** Per-bucket (NOT cumulative) handshake durations; `le` as observe.ts bucketLabel writes it. */
  handshakeDuration: ['frontend', 'result', 'le'],
  handshakeMicros: ['frontend', 'result'],
  misses: ['frontend', 'cause'],
  connectionErrors: ['frontend', 'stage'],
  sessionsStored: ['frontend', 'result'],
  stickLearned: ['frontend', 'kind', 'source'],
  stickLookups: ['frontend', 'result', 'reason'],
  backendHandshakes: ['backend', 'server', 'result'],
  /** Set by each worker: open client connections. */
  connections: ['frontend', 'worker'],
  /** Connections made / failed to a backend server. */
  serverConnections: ['backend', 'server'],
  serverErrors: ['backend', 'server'],
  /** The Redis tier (the shared tier's lookups come from the store's stats). */
  redisLookups: ['tier', 'result'],
  /** Sessions written to Redis: ok, or error (timeout, open breaker, Redis error). */
  redisWrites: ['result'],
  redisTimeouts: [],
  /** Per worker: 0 closed, 1 half-open, 2 open. */
  redisBreaker: ['worker'],
  redisLatency: ['le'],
  redisMicros: [],
  /** Per worker: records the native engine's event ring had no room for (their counts are the engine's own). */
  eventsDropped: ['worker'],
  /** Per worker: what the native engine's Redis tier dropped (kind: lookup, publish, answer, hold; c/tier.h). */
  redisDropped: ['worker', 'kind'],
} as const satisfies Record<string, readonly string[]>;

export type Family = keyof typeof FAMILIES;

/** A writer for one family, its values given in FAMILIES order. */
export function counterFamily (counters: SharedCounters, family: Family): CounterFamily {
  return new CounterFamily(counters, family, FAMILIES[family]);
}

/** Handshakes of one frontend (or of several added up). */
export interface HandshakeCounts {
  full: number;
  resumed: number;
  /** Resumed handshakes by method (id, ticket, stateful_ticket). */
  methods: Record<string, number>;
  /** Offered sessions that did not resume, by cause. */
  misses: Record<string, number>;
  /** Connections that failed, any stage. */
  errors: number;
}

export type BreakerView = 'closed' | 'half-open' | 'open' | 'unknown';

export interface RedisView {
  lookups: { hit: number; miss: number; error: number };
  timeouts: number;
  /** What the native engine's Redis tier dropped (lookups not asked, publishes not sent, answers lost, holds expired). */
  dropped: number;
  /** The worst state any worker reports. */
  breaker: BreakerView;
  /** Mean lookup latency, ms, or null before the first lookup. */
  meanLatencyMs: number | null;
}

export interface WorkerStats {
  /** By frontend name, summed over workers. */
  handshakes: Map<string, HandshakeCounts>;
  /** Open client connections by frontend (summed over workers); undefined before any worker published. */
  connections: Map<string, number> | undefined;
  /** By `backend/server`; a server with no connection yet is absent. */
  servers: Map<string, { connections: number; errors: number }>;
  redis: RedisView;
}

export function emptyHandshakes (): HandshakeCounts {
  return { full: 0, resumed: 0, methods: {}, misses: {}, errors: 0 };
}

const bump = (record: Record<string, number>, key: string, n: number): void => { record[key] = (record[key] ?? 0) + n; };
const BREAKERS = ['closed', 'half-open', 'open'] as const;

/** The typed view of the counters' entries. */
export function readStats (entries: readonly CounterEntry[]): WorkerStats {
  const stats: WorkerStats = {
    handshakes: new Map(),
    connections: undefined,
    servers: new Map(),
    redis: { lookups: { hit: 0, miss: 0, error: 0 }, timeouts: 0, dropped: 0, breaker: 'unknown', meanLatencyMs: null },
  };
  const fe = (name = ''): HandshakeCounts => {
    let t = stats.handshakes.get(name);
    if (!t) stats.handshakes.set(name, (t = emptyHandshakes()));
    return t;
  };
  const server = (l: Record<string, string>): { connections: number; errors: number } => {
    const key = `${l.backend}/${l.server}`;
    let s = stats.servers.get(key);
    if (!s) stats.servers.set(key, (s = { connections: 0, errors: 0 }));
    return s;
  };
  let worst = -1;
  let count = 0;
  let micros = 0;
  for (const { family, labels: l, value } of entries) {
    switch (family as Family) {
      case 'handshakes': {
        const t = fe(l.frontend);
        if (l.result === 'resumed') {
          t.resumed += value;
          bump(t.methods, l.method ?? 'none', value);
        } else {
          t.full += value;
        }
        break;
      }
      case 'misses': bump(fe(l.frontend).misses, l.cause ?? 'unknown', value); break;
      case 'connectionErrors': fe(l.frontend).errors += value; break;
      case 'connections':
        stats.connections ??= new Map();
        stats.connections.set(l.frontend ?? '', (stats.connections.get(l.frontend ?? '') ?? 0) + value);
        break;
      case 'serverConnections': server(l).connections += value; break;
      case 'serverErrors': server(l).errors += value; break;
      case 'redisLookups':
        if (l.tier === 'redis' && l.result in stats.redis.lookups) stats.redis.lookups[l.result as keyof RedisView['lookups']] += value;
        break;
      case 'redisTimeouts': stats.redis.timeouts += value; break;
      case 'redisDropped': stats.redis.dropped += value; break;
      case 'redisBreaker': worst = Math.max(worst, value); break;
      case 'redisLatency': count += value; break;
      case 'redisMicros': micros += value; break;
      default: break;
    }
  }
  stats.redis.breaker = worst < 0 ? 'unknown' : BREAKERS[Math.min(2, worst)];
  stats.redis.meanLatencyMs = count > 0 ? micros / count / 1000 : null;
  return stats;
}
