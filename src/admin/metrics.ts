// /metrics in the Prometheus text format 0.0.4, written by hand: the counters already
// hold Prometheus series names, so the exposition is mostly a copy, grouped by family
// with HELP and TYPE, plus the cache, key and worker numbers the main thread reads
// itself. The handshake-duration buckets are counted per bucket in the workers (one
// Atomics.add per handshake) and made cumulative here.
import { certificateExpiries, type CertificateExpiry } from '../config/checks.ts';
import type { Config } from '../config/types.ts';
import { metricKey } from '../runtime/counters.ts';
import { DURATION_BUCKETS } from '../runtime/observe.ts';
import { ticketKeyName } from '../tls/ticket-key.ts';
import { VERSION } from '../version.ts';
import { REUSE_WINDOW_MS, type AdminContext } from './context.ts';
import { parseSeries } from './series.ts';
import { serverUpShare } from './source.ts';
import { readTotals, reuseRatio } from './totals.ts';

type MetricType = 'counter' | 'gauge' | 'histogram';

interface Family {
  type: MetricType;
  help: string;
  lines: string[];
}

/** HELP and TYPE of the names the workers count (any other name is still exposed). */
const KNOWN: Record<string, [MetricType, string]> = {
  warmshake_handshakes_total: ['counter', 'TLS handshakes completed, by result (full|resumed), resumption method and TLS version.'],
  warmshake_handshake_duration_seconds: ['histogram', 'Time from accept to handshake done, by result.'],
  warmshake_resumption_misses_total: ['counter', 'Offered sessions that did not resume, by cause.'],
  warmshake_connection_errors_total: ['counter', 'Connections that failed, by stage.'],
  warmshake_sessions_stored_total: ['counter', 'New sessions offered to the cache, stored or refused.'],
  warmshake_session_cache_lookups_total: ['counter', 'Session cache lookups by tier and result.'],
  warmshake_session_cache_redis_timeouts_total: ['counter', 'Redis tier lookups that hit the timeout.'],
  warmshake_session_cache_redis_breaker_state: ['gauge', 'Redis tier circuit breaker per worker: 0 closed, 1 half-open, 2 open.'],
  warmshake_session_cache_redis_latency_seconds: ['histogram', 'Redis tier lookup latency.'],
  warmshake_connections_current: ['gauge', 'Open client connections per frontend and worker.'],
  warmshake_backend_connections_total: ['counter', 'Connections made to a backend server.'],
  warmshake_backend_errors_total: ['counter', 'Connections to a backend server that failed.'],
};

const BUCKET = '_seconds_bucket';
const MICROS_SUM = '_microseconds_sum';

function num (v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

class Exposition {
  #families = new Map<string, Family>();

  family (name: string, type: MetricType, help: string): Family {
    let f = this.#families.get(name);
    if (!f) this.#families.set(name, (f = { type, help, lines: [] }));
    return f;
  }

  add (name: string, type: MetricType, help: string, labels: Record<string, string>, value: number): void {
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
  labels: Record<string, string>;
  buckets: Map<string, number>;
  sumMicros: number;
}

/** Non-cumulative `X_seconds_bucket{le}` + `X_microseconds_sum` series, as one histogram. */
function addHistograms (ex: Exposition, base: string, parts: Map<string, HistogramParts>): void {
  const [, help] = KNOWN[`${base}_seconds`] ?? ['histogram', `${base}_seconds (published by the workers).`];
  const name = `${base}_seconds`;
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

function addCounters (ex: Exposition, snapshot: Map<string, number>): void {
  const histograms = new Map<string, Map<string, HistogramParts>>();
  const part = (base: string, labels: Record<string, string>): HistogramParts => {
    const byLabels = histograms.get(base) ?? new Map<string, HistogramParts>();
    histograms.set(base, byLabels);
    const id = JSON.stringify(labels);
    let p = byLabels.get(id);
    if (!p) byLabels.set(id, (p = { labels, buckets: new Map(), sumMicros: 0 }));
    return p;
  };
  for (const [key, value] of snapshot) {
    const { name, labels } = parseSeries(key);
    if (name.endsWith(BUCKET) && 'le' in labels) {
      const { le, ...rest } = labels;
      const p = part(name.slice(0, -BUCKET.length), rest);
      p.buckets.set(le, (p.buckets.get(le) ?? 0) + value);
    } else if (name.endsWith(MICROS_SUM)) {
      part(name.slice(0, -MICROS_SUM.length), labels).sumMicros += value;
    } else {
      const [type, help] = KNOWN[name] ?? [name.endsWith('_total') ? 'counter' : 'gauge', `${name} (published by the workers).`];
      ex.family(name, type, help).lines.push(`${key} ${num(value)}`);
    }
  }
  for (const [base, parts] of histograms) addHistograms(ex, base, parts);
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
  const snapshot = source.counters.snapshot();
  // Families the counters may not have yet, declared first so the order is stable.
  ex.family('warmshake_handshakes_total', ...KNOWN.warmshake_handshakes_total);
  const stats = source.store.stats();
  const lookups = 'warmshake_session_cache_lookups_total';
  ex.add(lookups, ...KNOWN[lookups], { tier: 'shared', result: 'hit' }, stats.hits);
  ex.add(lookups, ...KNOWN[lookups], { tier: 'shared', result: 'miss' }, stats.misses);
  ex.add(lookups, ...KNOWN[lookups], { tier: 'shared', result: 'error' }, stats.errors);
  addCounters(ex, snapshot);

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
