// `show stat`: CSV with a `# ` header as HAProxy prints it, one row per frontend
// (svname FRONTEND), per server, and per backend (svname BACKEND), HAProxy's column
// names where the meaning is the same (scur, stot, ereq, econ, status, weight, act,
// type: 0 frontend, 1 backend, 2 server) and ssl_* columns for what warmshake adds.
import type { AdminContext } from './context.ts';
import { REUSE_WINDOW_MS } from './context.ts';
import { currentConnections, PUBLISHED } from './published.ts';
import { serverStatus } from './source.ts';
import { parseSeries } from './series.ts';
import { readTotals, missCount, reuseRatio } from './totals.ts';

export const STAT_COLUMNS = [
  'pxname', 'svname', 'scur', 'stot', 'ereq', 'econ', 'status', 'weight', 'act', 'lastchg', 'pid', 'type', 'mode', 'algo', 'addr',
  'ssl_hs', 'ssl_full', 'ssl_resumed', 'ssl_misses', 'ssl_reuse_pct', 'check_desc',
] as const;

type Row = Partial<Record<(typeof STAT_COLUMNS)[number], string | number>>;

/** A CSV field: quoted only when it must be. */
function csv (value: string | number | undefined): string {
  if (value === undefined) return '';
  const s = String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function statCsv (ctx: AdminContext, now = Date.now()): string {
  const { source, monitor } = ctx;
  const { config } = source;
  const snapshot = source.counters.snapshot();
  const totals = readTotals(source, now);
  const recent = monitor.history.window(REUSE_WINDOW_MS, now, totals);
  const conns = currentConnections(snapshot);
  const states = new Map((source.servers?.() ?? []).map((s) => [`${s.backend}/${s.server}`, s]));
  const perServer = new Map<string, { stot: number; econ: number }>();
  for (const [key, value] of snapshot) {
    const { name, labels } = parseSeries(key);
    if (name !== PUBLISHED.serverConnections && name !== PUBLISHED.serverErrors) continue;
    const k = `${labels.backend}/${labels.server}`;
    const s = perServer.get(k) ?? { stot: 0, econ: 0 };
    if (name === PUBLISHED.serverConnections) s.stot += value; else s.econ += value;
    perServer.set(k, s);
  }
  const rows: Row[] = [];
  for (const f of config.frontends) {
    const t = totals.frontends[f.name];
    const ratio = reuseRatio(recent.frontends[f.name] ?? { full: 0, resumed: 0, methods: {}, misses: {}, errors: 0 });
    rows.push({
      pxname: f.name, svname: 'FRONTEND', scur: conns?.get(f.name), stot: t.full + t.resumed + t.errors, ereq: t.errors,
      status: 'OPEN', pid: process.pid, type: 0, mode: f.mode, addr: `${f.bind.host}:${source.ports?.[f.name] ?? f.bind.port}`,
      ssl_hs: t.full + t.resumed, ssl_full: t.full, ssl_resumed: t.resumed, ssl_misses: missCount(t),
      ssl_reuse_pct: ratio === null ? '' : Math.round(ratio * 1000) / 10,
    });
  }
  for (const b of config.backends) {
    let up = 0;
    let weight = 0;
    let stot: number | undefined;
    let econ: number | undefined;
    let lastchg: number | undefined;
    for (const s of b.servers) {
      const state = states.get(`${b.name}/${s.name}`);
      const counts = perServer.get(`${b.name}/${s.name}`);
      const isUp = state ? state.up : true;
      if (isUp) { up++; weight += s.weight; }
      if (counts) {
        stot = (stot ?? 0) + counts.stot;
        econ = (econ ?? 0) + counts.econ;
      }
      const since = state?.since === undefined ? undefined : Math.floor((now - state.since) / 1000);
      if (since !== undefined) lastchg = lastchg === undefined ? since : Math.min(lastchg, since);
      rows.push({
        pxname: b.name, svname: s.name, stot: counts?.stot, econ: counts?.econ,
        status: state ? serverStatus(state) : b.health_check ? 'UNKNOWN' : 'no check',
        weight: s.weight, act: isUp ? 1 : 0, lastchg: since, pid: process.pid, type: 2, addr: `${s.address.host}:${s.address.port}`,
        check_desc: state?.reason,
      });
    }
    rows.push({
      pxname: b.name, svname: 'BACKEND', stot, econ, status: up > 0 ? 'UP' : 'DOWN', weight, act: up, lastchg,
      pid: process.pid, type: 1, algo: b.balance,
    });
  }
  const header = `# ${STAT_COLUMNS.join(',')}\n`;
  return header + rows.map((r) => `${STAT_COLUMNS.map((c) => csv(r[c])).join(',')}\n`).join('');
}
