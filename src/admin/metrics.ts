// /metrics in the Prometheus text format 0.0.4, written by hand. The one place that
// knows Prometheus names: the workers count typed families (runtime/worker-stats.ts),
// named here and grouped with HELP and TYPE, plus the cache, key and worker numbers the
// main thread reads itself. The handshake-duration buckets are counted per bucket in
// the workers (one Atomics.add per handshake) and made cumulative here.
import { certificateExpiries, type CertificateExpiry } from '../config/checks.ts';
import type { Config } from '../config/types.ts';
import { DURATION_BUCKETS } from '../diagnostics.ts';
import type { CounterEntry, Labels } from '../runtime/counters.ts';
import type { Family } from '../runtime/worker-stats.ts';
import { ticketKeyName } from '../tls/ticket-key.ts';
import { VERSION } from '../version.ts';
import { REUSE_WINDOW_MS, type AdminContext } from './context.ts';
import { serverUpShare } from './source.ts';
import { readTotals, reuseRatio } from './totals.ts';

type MetricType = 'counter' | 'gauge' | 'histogram';

interface MetricFamily {
  type: MetricType;
  help: string;
  lines: string[];
}

type Named = [name: string, type: MetricType, help: string];

const LOOKUPS: Named = ['warmshake_session_cache_lookups_total', 'counter', 'Session cache lookups by tier and result.'];

/** The exposed name, TYPE and HELP of each family the workers count. */
const NAMES: Record<Exclude<Family, 'handshakeDuration' | 'handshakeMicros' | 'redisLatency' | 'redisMicros'>, Named> = {
  handshakes: ['warmshake_handshakes_total', 'counter', 'TLS handshakes completed, by result (full|resumed), resumption method and TLS version.'],
  misses: ['warmshake_resumption_misses_total', 'counter', 'Offered sessions that did not resume, by cause.'],
  connectionErrors: ['warmshake_connection_errors_total', 'counter', 'Connections that failed, by stage.'],
  sessionsStored: ['warmshake_sessions_stored_total', 'counter', 'New sessions offered to the cache, stored or refused.'],
  stickLearned: ['warmshake_stick_table_learned_total', 'counter', 'Stick-table entries learned, by kind and source.'],
  stickLookups: ['warmshake_stick_table_lookups_total', 'counter', 'Stick-table lookups by result.'],
  backendHandshakes: ['warmshake_backend_handshakes_total', 'counter', 'TLS handshakes with backend servers, by result.'],
  redisLookups: LOOKUPS,
  redisWrites: ['warmshake_session_cache_redis_writes_total', 'counter', 'Sessions written to the Redis tier, by result: ok, or error (a timeout, a refusal by the open breaker, a Redis error); after an error the session resumes on this node only.'],
  redisTimeouts: ['warmshake_session_cache_redis_timeouts_total', 'counter', 'Redis tier lookups that hit the timeout.'],
  redisBreaker: ['warmshake_session_cache_redis_breaker_state', 'gauge', 'Redis tier circuit breaker per worker: 0 closed, 1 half-open, 2 open.'],
  connections: ['warmshake_connections_current', 'gauge', 'Open client connections per frontend and worker.'],
  serverConnections: ['warmshake_backend_connections_total', 'counter', 'Connections made to a backend server by engine node (the native engine reports only its failures, in warmshake_backend_errors_total).'],
  serverErrors: ['warmshake_backend_errors_total', 'counter', 'Connections to a backend server that failed.'],
  redisDropped: ['warmshake_native_redis_dropped_total', 'counter', 'What the Redis tier of the native engine dropped, by kind: lookups not asked (the handshake went on full), publishes never sent, answers lost, holds released at their deadline before the publish left.'],
  eventsDropped: ['warmshake_native_events_dropped_total', 'counter', 'Records the native engine dropped because its event ring was full (handshake, error and stored records: not logged, still counted; server failures: not seen by passive health).'],
};

/** Histograms: per-bucket counts (label `le`) in one family, the sum in µs in another. */
const HISTOGRAMS: Partial<Record<Family, { name: string; help: string; part: 'bucket' | 'sum' }>> = {
  handshakeDuration: { name: 'warmshake_handshake_duration_seconds', help: 'Time from accept to handshake done, by result.', part: 'bucket' },
  handshakeMicros: { name: 'warmshake_handshake_duration_seconds', help: 'Time from accept to handshake done, by result.', part: 'sum' },
  redisLatency: { name: 'warmshake_session_cache_redis_latency_seconds', help: 'Redis tier lookup latency.', part: 'bucket' },
  redisMicros: { name: 'warmshake_session_cache_redis_latency_seconds', help: 'Redis tier lookup latency.', part: 'sum' },
};

/** `name{k="v",...}` with label values escaped as Prometheus requires. */
export function metricKey (name: string, labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

function num (v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

class Exposition {
  #families = new Map<string, MetricFamily>();

  family (name: string, type: MetricType, help: string): MetricFamily {
    let f = this.#families.get(name);
    if (!f) this.#families.set(name, (f = { type, help, lines: [] }));
    return f;
  }

  add (name: string, type: MetricType, help: string, labels: Labels, value: number): void {
    this.family(name, type, help).lines.push(`${metricKey(name, labels)} ${num(value)}`);
  }

  render (): string {
    let out = '';
    for (const [name, f] of this.#families) {
      out += `# HELP ${name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${f.type}\n`;
      for (const line of f.lines) out += `${line}\n`;
    }
    return out;
  }
}

interface HistogramParts {
  labels: Labels;
  buckets: Map<string, number>;
  sumMicros: number;
}

/** Non-cumulative per-bucket counts + the sum in µs, as one cumulative histogram. */
function addHistogram (ex: Exposition, name: string, help: string, parts: Map<string, HistogramParts>): void {
  const family = ex.family(name, 'histogram', help);
  const seen = new Set<number>(DURATION_BUCKETS);
  for (const p of parts.values()) for (const le of p.buckets.keys()) if (le !== '+Inf' && Number.isFinite(Number(le))) seen.add(Number(le));
  const bounds = [...seen].sort((a, b) => a - b);
  for (const p of parts.values()) {
    let cumulative = 0;
    for (const b of bounds) {
      cumulative += p.buckets.get(String(b)) ?? 0;
      family.lines.push(`${metricKey(`${name}_bucket`, { ...p.labels, le: String(b) })} ${cumulative}`);
    }
    cumulative += p.buckets.get('+Inf') ?? 0;
    family.lines.push(`${metricKey(`${name}_bucket`, { ...p.labels, le: '+Inf' })} ${cumulative}`);
    family.lines.push(`${metricKey(`${name}_sum`, p.labels)} ${num(p.sumMicros / 1e6)}`);
    family.lines.push(`${metricKey(`${name}_count`, p.labels)} ${cumulative}`);
  }
}

/** Every series the workers count; a family this file does not name is exposed under its own name. */
function addCounters (ex: Exposition, entries: readonly CounterEntry[]): void {
  const histograms = new Map<string, { help: string; parts: Map<string, HistogramParts> }>();
  const part = (name: string, help: string, labels: Labels): HistogramParts => {
    let h = histograms.get(name);
    if (!h) histograms.set(name, (h = { help, parts: new Map() }));
    const id = JSON.stringify(labels);
    let p = h.parts.get(id);
    if (!p) h.parts.set(id, (p = { labels, buckets: new Map(), sumMicros: 0 }));
    return p;
  };
  for (const { family, labels, value } of entries) {
    const histogram = HISTOGRAMS[family as Family];
    if (histogram?.part === 'bucket' && 'le' in labels) {
      const { le, ...rest } = labels;
      const p = part(histogram.name, histogram.help, rest);
      p.buckets.set(le, (p.buckets.get(le) ?? 0) + value);
    } else if (histogram?.part === 'sum') {
      part(histogram.name, histogram.help, labels).sumMicros += value;
    } else {
      const [name, type, help] = NAMES[family as keyof typeof NAMES] ?? [family, family.endsWith('_total') ? 'counter' : 'gauge', `${family} (published by the workers).`];
      ex.add(name, type, help, labels, value);
    }
  }
  for (const [name, h] of histograms) addHistogram(ex, name, h.help, h.parts);
}

/** Read once per configuration: the workers loaded these files at start or reload, not at each scrape. */
const EXPIRIES = new WeakMap<Config, CertificateExpiry[]>();

function expiries (config: Config): CertificateExpiry[] {
  let list = EXPIRIES.get(config);
  if (!list) EXPIRIES.set(config, (list = certificateExpiries(config)));
  return list;
}

export function renderMetrics (ctx: AdminContext, now = Date.now()): string {
  const { source, monitor } = ctx;
  const { config } = source;
  const ex = new Exposition();
  // Families the counters may not have yet, declared first so the order is stable.
  ex.family(...NAMES.handshakes);
  const stats = source.store.stats();
  ex.add(...LOOKUPS, { tier: 'shared', result: 'hit' }, stats.hits);
  ex.add(...LOOKUPS, { tier: 'shared', result: 'miss' }, stats.misses);
  ex.add(...LOOKUPS, { tier: 'shared', result: 'error' }, stats.errors);
  addCounters(ex, source.counters.entries());

  ex.add('warmshake_session_cache_entries', 'gauge', 'Sessions in the shared-memory cache.', {}, stats.entries);
  ex.add('warmshake_session_cache_capacity', 'gauge', 'Most sessions the shared-memory cache holds (session_cache.size).', {}, stats.capacity);
  ex.add('warmshake_session_cache_bytes', 'gauge', 'Shared memory held by the session cache, bytes.', {}, stats.bytes);
  ex.add('warmshake_session_cache_evictions_total', 'counter', 'Sessions evicted (oldest first) to make room.', {}, stats.evictions);
  ex.add('warmshake_session_cache_expired_total', 'counter', 'Lookups that found a session past its lifetime.', {}, stats.expired);
  ex.add('warmshake_session_cache_stores_total', 'counter', 'Sessions stored in the shared-memory cache.', {}, stats.stores);
  ex.add('warmshake_session_cache_oversize_total', 'counter', 'Sessions not cached because they were over max_entry_bytes.', {}, stats.oversize);

  const totals = monitor.history.window(REUSE_WINDOW_MS, now, readTotals(source, now));
  for (const f of config.frontends) {
    const ratio = reuseRatio(totals.frontends[f.name] ?? { full: 0, resumed: 0, methods: {}, misses: {}, errors: 0 });
    ex.add('warmshake_resumption_ratio', 'gauge', 'Resumed / all handshakes over the last 60 s (NaN: no handshake).', { frontend: f.name }, ratio ?? NaN);
  }
  for (const f of config.frontends) {
    ex.add('warmshake_resumption_alert', 'gauge', '1 while the resumption alert is on for the frontend.', { frontend: f.name }, monitor.alerts().get(f.name)?.below ? 1 : 0);
  }
  ex.add('warmshake_resumption_alert_threshold', 'gauge', 'global.resumption_alert_below.', {}, config.global.resumption_alert_below);

  const keys = source.keys.keys();
  ex.add('warmshake_ticket_keys', 'gauge', 'Ticket keys in the ring (one encrypts, the rest decrypt).', {}, keys.length);
  keys.forEach((k, i) => ex.add('warmshake_ticket_key_age_seconds', 'gauge', 'Age of each ticket key, by key name (public: tickets carry it in the clear).',
    { key: ticketKeyName(k).toString('hex'), role: i === 0 ? 'encrypt' : 'decrypt' }, Math.floor((now - k.created) / 1000)));

  for (const e of expiries(config)) {
    ex.add('warmshake_cert_expiry_timestamp_seconds', 'gauge', 'notAfter of each frontend certificate, seconds since the epoch (as loaded at start or the last reload).',
      { frontend: e.frontend, cert: e.cert }, Math.floor(e.notAfter / 1000));
  }

  const servers = source.servers?.();
  if (servers) {
    for (const s of servers) {
      ex.add('warmshake_backend_server_up', 'gauge', 'Share of worker threads whose health checks see the server up: 1 all, 0 none.', { backend: s.backend, server: s.server }, serverUpShare(s));
    }
  }

  const r = source.reloads;
  if (r) {
    ex.add('warmshake_reloads_total', 'counter', 'Reloads (SIGHUP) by result.', { result: 'ok' }, r.ok);
    ex.add('warmshake_reloads_total', 'counter', 'Reloads (SIGHUP) by result.', { result: 'failed' }, r.failed);
    if (r.last) {
      ex.add('warmshake_last_reload_timestamp_seconds', 'gauge', 'Time of the last reload, seconds since the epoch.', {}, Math.floor(r.last.at / 1000));
      ex.add('warmshake_last_reload_success', 'gauge', '1 when the last reload succeeded, 0 when it failed.', {}, r.last.ok ? 1 : 0);
    }
    ex.add('warmshake_config_info', 'gauge', 'The running configuration: first 16 hex digits of the SHA-256 of its file.', { hash: r.hash }, 1);
  }

  const workers = source.workers();
  for (const state of ['starting', 'running', 'stopping']) {
    ex.add('warmshake_workers', 'gauge', 'Worker threads by state.', { state }, workers.filter((w) => w.state === state).length);
  }
  ex.add('warmshake_worker_restarts', 'gauge', 'Worker threads restarted after a crash since the process started (reloads keep the count).', {}, workers.reduce((a, w) => a + w.restarts, 0));
  ex.add('warmshake_start_time_seconds', 'gauge', 'Start time of the process, seconds since the epoch.', {}, Math.floor(source.started / 1000));
  ex.add('warmshake_info', 'gauge', 'Versions of warmshake, Node.js and OpenSSL.', { version: VERSION, node: process.versions.node, openssl: process.versions.openssl ?? '' }, 1);
  return ex.render();
}
