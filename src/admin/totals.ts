// Cumulative numbers the admin side works from, read in one go: per frontend the
// handshakes (full / resumed, by method), misses by cause and connection errors from the
// workers' typed stats (runtime/worker-stats.ts), and the shared cache's counters from
// its stats. History keeps snapshots of these and subtracts them.
import { emptyHandshakes, readStats, type HandshakeCounts, type WorkerStats } from '../runtime/worker-stats.ts';
import type { AdminSource } from './source.ts';

export type FrontendTotals = HandshakeCounts;

export interface CacheTotals {
  lookups: number;
  hits: number;
  misses: number;
  expired: number;
  evictions: number;
  stores: number;
  oversize: number;
}

export interface Totals {
  /** ms since the epoch. */
  at: number;
  frontends: Record<string, FrontendTotals>;
  cache: CacheTotals;
}

const CACHE_FIELDS = ['lookups', 'hits', 'misses', 'expired', 'evictions', 'stores', 'oversize'] as const;

export const emptyFrontend = emptyHandshakes;

export function zeroTotals (at: number, frontends: readonly string[] = []): Totals {
  const cache = Object.fromEntries(CACHE_FIELDS.map((f) => [f, 0])) as unknown as CacheTotals;
  return { at, frontends: Object.fromEntries(frontends.map((f) => [f, emptyFrontend()])), cache };
}

/** `stats`: the workers' stats when the caller read them already. */
export function readTotals (source: Pick<AdminSource, 'counters' | 'store' | 'config'>, at = Date.now(), stats: WorkerStats = readStats(source.counters.entries())): Totals {
  const totals = zeroTotals(at, source.config.frontends.map((f) => f.name));
  for (const [name, t] of stats.handshakes) totals.frontends[name] = t;
  const cache = source.store.stats();
  for (const f of CACHE_FIELDS) totals.cache[f] = cache[f];
  return totals;
}

/** A counter that went down was reset (a new cache after a reload): count from zero. */
const delta = (cur: number, prev: number | undefined): number => (prev === undefined || cur < prev ? cur : cur - prev);

function diffRecord (cur: Record<string, number>, prev: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(cur).map(([k, v]) => [k, delta(v, prev?.[k])]));
}

export function diffFrontend (cur: FrontendTotals, prev: FrontendTotals | undefined): FrontendTotals {
  return {
    full: delta(cur.full, prev?.full),
    resumed: delta(cur.resumed, prev?.resumed),
    methods: diffRecord(cur.methods, prev?.methods),
    misses: diffRecord(cur.misses, prev?.misses),
    errors: delta(cur.errors, prev?.errors),
  };
}

/** `cur - prev`, field by field; `at` is cur's. */
export function diffTotals (cur: Totals, prev: Totals): Totals {
  const frontends = Object.fromEntries(Object.entries(cur.frontends).map(([name, t]) => [name, diffFrontend(t, prev.frontends[name])]));
  const cache = Object.fromEntries(CACHE_FIELDS.map((f) => [f, delta(cur.cache[f], prev.cache[f])])) as unknown as CacheTotals;
  return { at: cur.at, frontends, cache };
}

/** All frontends added up. */
export function sumFrontends (totals: Totals): FrontendTotals {
  const sum = emptyFrontend();
  for (const t of Object.values(totals.frontends)) {
    sum.full += t.full;
    sum.resumed += t.resumed;
    sum.errors += t.errors;
    for (const [k, v] of Object.entries(t.methods)) sum.methods[k] = (sum.methods[k] ?? 0) + v;
    for (const [k, v] of Object.entries(t.misses)) sum.misses[k] = (sum.misses[k] ?? 0) + v;
  }
  return sum;
}

export function missCount (t: FrontendTotals): number {
  return Object.values(t.misses).reduce((a, b) => a + b, 0);
}

/** resumed / all handshakes, or null when there were none. */
export function reuseRatio (t: FrontendTotals): number | null {
  const all = t.full + t.resumed;
  return all === 0 ? null : t.resumed / all;
}
