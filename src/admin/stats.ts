// /api/stats: one plain JSON snapshot with everything the stats page draws.
import { ticketKeyName } from '../tls/ticket-key.ts';
import { VERSION } from '../version.ts';
import { RATE_WINDOW_MS, REUSE_WINDOW_MS, type AdminContext } from './context.ts';
import { currentConnections, redisView, type RedisView } from './published.ts';
import { emptyFrontend, readTotals, reuseRatio } from './totals.ts';
import { serverStatus } from './source.ts';

export interface FrontendStats {
  name: string;
  mode: string;
  bind: string;
  backend: string;
  full: number;
  resumed: number;
  methods: Record<string, number>;
  misses: Record<string, number>;
  errors: number;
  connections: number | null;
  /** Resumed / all over the last 60 s, null without handshakes. */
  reuse: number | null;
  /** Handshakes per second over the last 10 s. */
  rate: { full: number; resumed: number };
  /** [bucket start ms, full, resumed] per 10 s over the last hour. */
  series: Array<[number, number, number]>;
  alert: { below: boolean; ratio: number | null; cause: string | null; message: string | null; since: number | null };
}

export interface StatsSnapshot {
  now: number;
  version: string;
  pid: number;
  uptimeSec: number;
  bucketMs: number;
  workers: { configured: number; running: number; restarts: number };
  threshold: number;
  frontends: FrontendStats[];
  cache: { entries: number; capacity: number; bytes: number; lookups: number; hits: number; misses: number; expired: number; evictions: number; oversize: number; stores: number; evictionsLastMinute: number; lifetimeSec: number };
  /** Evictions per chart bucket, aligned with the frontends' series. */
  evictionSeries: Array<[number, number]>;
  redis: (RedisView & { target: string }) | null;
  keys: { source: string; enabled: boolean; list: Array<{ name: string; ageSec: number; role: string }> };
  backends: Array<{ name: string; balance: string; servers: Array<{ name: string; address: string; up: boolean | null; status: string | null; reason: string | null; lastChangeSec: number | null }> }>;
}

export function buildStats (ctx: AdminContext, now = Date.now()): StatsSnapshot {
  const { source, monitor } = ctx;
  const { config } = source;
  const snapshot = source.counters.snapshot();
  const current = readTotals(source, now);
  const recent = monitor.history.window(REUSE_WINDOW_MS, now, current);
  const rateWindow = monitor.history.window(RATE_WINDOW_MS, now, current);
  const perSec = (n: number): number => Math.round((n / Math.max(1, rateWindow.spanMs / 1000)) * 100) / 100;
  const buckets = monitor.history.buckets();
  const conns = currentConnections(snapshot);
  const stats = source.store.stats();
  const workers = source.workers();
  const states = new Map((source.servers?.() ?? []).map((s) => [`${s.backend}/${s.server}`, s]));
  const redis = config.session_cache.redis;

  return {
    now,
    version: VERSION,
    pid: process.pid,
    uptimeSec: Math.floor((now - source.started) / 1000),
    bucketMs: monitor.history.options.bucketMs,
    workers: { configured: config.global.workers, running: workers.filter((w) => w.state === 'running').length, restarts: workers.reduce((a, w) => a + w.restarts, 0) },
    threshold: config.global.resumption_alert_below,
    frontends: config.frontends.map((f): FrontendStats => {
      const t = current.frontends[f.name] ?? emptyFrontend();
      const r = rateWindow.frontends[f.name] ?? emptyFrontend();
      const a = monitor.alerts().get(f.name);
      return {
        name: f.name, mode: f.mode, bind: `${f.bind.host}:${source.ports?.[f.name] ?? f.bind.port}`, backend: f.backend,
        full: t.full, resumed: t.resumed, methods: t.methods, misses: t.misses, errors: t.errors,
        connections: conns?.get(f.name) ?? null,
        reuse: reuseRatio(recent.frontends[f.name] ?? emptyFrontend()),
        rate: { full: perSec(r.full), resumed: perSec(r.resumed) },
        series: buckets.map((b) => [b.t, b.frontends[f.name]?.full ?? 0, b.frontends[f.name]?.resumed ?? 0]),
        alert: { below: a?.below ?? false, ratio: a?.ratio ?? null, cause: a?.cause ?? null, message: a?.message ?? null, since: a?.since ?? null },
      };
    }),
    cache: {
      entries: stats.entries, capacity: stats.capacity, bytes: stats.bytes, lookups: stats.lookups, hits: stats.hits, misses: stats.misses,
      expired: stats.expired, evictions: stats.evictions, oversize: stats.oversize, stores: stats.stores,
      evictionsLastMinute: recent.cache.evictions, lifetimeSec: Math.round(config.session_cache.lifetime / 1000),
    },
    evictionSeries: buckets.map((b) => [b.t, b.evictions]),
    redis: redis ? { ...redisView(snapshot), target: redis.url?.replace(/\/\/[^@/]*@/, '//') ?? (redis.cluster ? `cluster (${redis.cluster.length} nodes)` : `sentinel ${redis.name ?? ''}`) } : null,
    keys: {
      source: source.rotation.source,
      enabled: config.tickets.enabled,
      list: source.keys.keys().map((k, i) => ({ name: ticketKeyName(k).toString('hex'), ageSec: Math.floor((now - k.created) / 1000), role: i === 0 ? 'encrypt' : 'decrypt' })),
    },
    backends: config.backends.map((b) => ({
      name: b.name,
      balance: b.balance,
      servers: b.servers.map((s) => {
        const st = states.get(`${b.name}/${s.name}`);
        return {
          name: s.name, address: `${s.address.host}:${s.address.port}`, up: st ? st.up : null, status: st ? serverStatus(st) : null,
          reason: st?.reason ?? null, lastChangeSec: st?.since === undefined ? null : Math.floor((now - st.since) / 1000),
        };
      }),
    })),
  };
}
