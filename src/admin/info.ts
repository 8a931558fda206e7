// `show info`: one `Name: value` per line, HAProxy's names where HAProxy has the number
// (SslCacheLookups, SslFrontendSessionReuse_pct, ...). The reuse ratio here is the true
// ratio over the last 60 s, where HAProxy's is a one-second key-rate estimate.
import { chooseEngine } from '../native/choice.ts';
import type { Config } from '../config/types.ts';
import { readStats } from '../runtime/worker-stats.ts';
import { VERSION } from '../version.ts';
import { REUSE_WINDOW_MS, RATE_WINDOW_MS, type AdminContext } from './context.ts';
import { readTotals, reuseRatio, sumFrontends, missCount } from './totals.ts';

export type InfoField = [name: string, value: string | number];

/** HAProxy's uptime format: `1d 2h03m04s`. */
export function formatUptime (sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.floor(sec % 60);
  return `${d}d ${h}h${String(m).padStart(2, '0')}m${String(s).padStart(2, '0')}s`;
}

/**
 * `native`; `native (node: pt, api)` naming the frontends that fall back to engine node;
 * `node`, or `node (why)` when the addon did not load (docs/native.md: show info says why).
 */
function engineLine (config: Config): string {
  const choice = chooseEngine(config);
  const fallback = Object.keys(choice.fallback);
  if (choice.reason) return `${choice.engine} (${choice.reason})`;
  return fallback.length === 0 ? choice.engine : `${choice.engine} (node: ${fallback.join(', ')})`;
}

const pct = (ratio: number | null): number => (ratio === null ? 0 : Math.round(ratio * 1000) / 10);

export function infoFields (ctx: AdminContext, now = Date.now()): InfoField[] {
  const { source, monitor } = ctx;
  const { config } = source;
  const workerStats = readStats(source.counters.entries());
  const current = readTotals(source, now, workerStats);
  const all = sumFrontends(current);
  const recent = sumFrontends(monitor.history.window(REUSE_WINDOW_MS, now, current));
  const rateWindow = monitor.history.window(RATE_WINDOW_MS, now, current);
  const rate = sumFrontends(rateWindow);
  const perSec = (n: number): number => Math.round((n / Math.max(1, rateWindow.spanMs / 1000)) * 10) / 10;
  const stats = source.store.stats();
  const workers = source.workers();
  const keys = source.keys.keys();
  const uptime = Math.floor((now - source.started) / 1000);

  const fields: InfoField[] = [
    ['Name', 'warmshake'],
    ['Version', VERSION],
    ['Node_version', process.versions.node],
    ['OpenSSL_version', process.versions.openssl ?? ''],
    ['Engine', engineLine(config)],
    ['Pid', process.pid],
    ['Uptime', formatUptime(uptime)],
    ['Uptime_sec', uptime],
    ['Nbthread', workers.filter((w) => w.state === 'running').length],
    ['Nbthread_configured', config.global.workers],
    ['WorkerRestarts', workers.reduce((a, w) => a + w.restarts, 0)],
    ['Frontends', config.frontends.length],
    ['Backends', config.backends.length],
  ];
  const conns = workerStats.connections;
  if (conns) fields.push(['CurrConns', [...conns.values()].reduce((a, b) => a + b, 0)]);
  fields.push(
    ['CumSslConns', all.full + all.resumed],
    ['SslRate', perSec(rate.full + rate.resumed)],
    ['SslFrontendKeyRate', perSec(rate.full)],
    ['SslFrontendSessionReuse_pct', pct(reuseRatio(recent))],
    ['SslFullHandshakes', all.full],
    ['SslResumedHandshakes', all.resumed],
    ['SslResumedById', all.methods.id ?? 0],
    ['SslResumedByTicket', all.methods.ticket ?? 0],
    ['SslResumedByStatefulTicket', all.methods.stateful_ticket ?? 0],
    ['SslResumptionMisses', missCount(all)],
    ['SslConnErrors', all.errors],
    ['SslCacheLookups', stats.lookups],
    ['SslCacheHits', stats.hits],
    ['SslCacheMisses', stats.misses],
    ['SslCacheExpired', stats.expired],
    ['SslCacheStores', stats.stores],
    ['SslCacheEvictions', stats.evictions],
    ['SslCacheOversize', stats.oversize],
    ['SslCacheEntries', stats.entries],
    ['SslCacheSize', stats.capacity],
    ['SslCacheBytes', stats.bytes],
    ['SslCacheLifetime_sec', Math.round(config.session_cache.lifetime / 1000)],
  );
  if (config.session_cache.redis) {
    const r = workerStats.redis;
    fields.push(
      ['SslCacheRedisLookups', r.lookups.hit + r.lookups.miss + r.lookups.error],
      ['SslCacheRedisHits', r.lookups.hit],
      ['SslCacheRedisMisses', r.lookups.miss],
      ['SslCacheRedisErrors', r.lookups.error],
      ['SslCacheRedisTimeouts', r.timeouts],
      ['SslCacheRedisBreaker', r.breaker],
      ['SslCacheRedisDropped', r.dropped],
    );
  }
  fields.push(
    ['TicketsEnabled', config.tickets.enabled ? 1 : 0],
    ['TicketKeys', keys.length],
    ['TicketKeySource', source.rotation.source],
    ['TicketKeyAge_sec', keys.length > 0 ? Math.floor((now - keys[0].created) / 1000) : 0],
    ['ResumptionAlertBelow_pct', pct(config.global.resumption_alert_below)],
  );
  const r = source.reloads;
  if (r) {
    fields.push(
      ['ConfigHash', r.hash],
      ['Reloads', r.ok],
      ['ReloadsFailed', r.failed],
      ['LastReload', r.last ? new Date(r.last.at).toISOString() : 'never'],
      ['LastReloadResult', r.last ? (r.last.ok ? 'ok' : `failed: ${r.last.error ?? ''}`) : 'none'],
    );
  }
  const below = [...monitor.alerts()].filter(([, s]) => s.below);
  fields.push(['ResumptionAlert', below.length === 0 ? 'none' : below.map(([fe, s]) => `${fe}: ${s.cause}`).join('; ')]);
  return fields;
}

export function formatInfo (fields: InfoField[]): string {
  return fields.map(([k, v]) => `${k}: ${v}\n`).join('');
}
