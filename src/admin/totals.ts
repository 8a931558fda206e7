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

/**
 * readTotals for a sampler that runs every second: when no counter, no cache figure, the
 * store and the config all stayed the same since its last read, the last figures under the
 * new time, without building every series (a quiet second allocates next to nothing
 * on the main thread; the History keeps a minute of samples, which would otherwise age
 * into the old generation and bring major collections).
 */
export class TotalsReader {
  readonly #source: Pick<AdminSource, 'counters' | 'store' | 'config'>;
  #counters: AdminSource['counters'] | undefined;
  #seen: Int32Array = new Int32Array(0);
  #last: Totals | undefined;
  #store: unknown;
  #config: unknown;

  constructor (source: Pick<AdminSource, 'counters' | 'store' | 'config'>) {
    this.#source = source;
  }

  read (at = Date.now()): Totals {
    const { counters, store, config } = this.#source;
    if (counters !== this.#counters) {
      this.#counters = counters;
      this.#seen = counters.newSnapshot?.() ?? this.#seen;
    }
    // Before the cache's figures: a count that moves between the two reads is seen now or next time.
    const moved = counters.changedSince?.(this.#seen) ?? true;
    const last = this.#last;
    if (!moved && last && store === this.#store && config === this.#config && sameCache(store.stats(), last.cache)) {
      return { at, frontends: last.frontends, cache: last.cache };
    }
    this.#store = store;
    this.#config = config;
    this.#last = readTotals(this.#source, at);
    return this.#last;
  }
}

function sameCache (now: CacheTotals, last: CacheTotals): boolean {
  for (const f of CACHE_FIELDS) if (now[f] !== last[f]) return false;
  return true;
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

/** Per frontends record of a quiet period (TotalsReader reuses it): the all-zero difference, made once. */
const quiet = new WeakMap<Totals['frontends'], Pick<Totals, 'frontends' | 'cache'>>();

/** `cur - prev`, field by field; `at` is cur's. */
export function diffTotals (cur: Totals, prev: Totals): Totals {
  if (cur.frontends === prev.frontends && cur.cache === prev.cache) {
    let zero = quiet.get(cur.frontends);
    if (!zero) quiet.set(cur.frontends, (zero = diffFigures(cur, prev)));
    return { at: cur.at, frontends: zero.frontends, cache: zero.cache };
  }
  return { at: cur.at, ...diffFigures(cur, prev) };
}

function diffFigures (cur: Totals, prev: Totals): Pick<Totals, 'frontends' | 'cache'> {
  const frontends = Object.fromEntries(Object.entries(cur.frontends).map(([name, t]) => [name, diffFrontend(t, prev.frontends[name])]));
  const cache = Object.fromEntries(CACHE_FIELDS.map((f) => [f, delta(cur.cache[f], prev.cache[f])])) as unknown as CacheTotals;
  return { frontends, cache };
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
