// The fixed-rate run measures every case × rate × server once per round; the report
// gives the median over rounds and the spread, so one disturbed window (a neighbour's
// build, a GC, the kernel reaping sockets) moves the spread, not the figure. Ratios
// (× HAProxy, 2 workers ÷ 1 worker) are taken within a round, from rows measured
// minutes apart at most, and then the median ratio is reported: drift between rounds
// (the machine's load, thermal state) then cancels instead of adding to the spread.
// Pure functions, tested in test/bench/rounds.test.ts.
import type { Row } from './measure.ts';

/** The round a row was measured in (1-based); a row without one is round 1. */
export function roundOf (row: Row): number {
  return Number(row.extra.round ?? 1);
}

/** The median; the mean of the two middle values for an even count; NaN for none. */
export function median (values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `min–max` with `digits` decimals, or the single value; empty for none. */
export function spreadOf (values: readonly number[], digits = 0): string {
  if (values.length === 0) return '';
  const lo = Math.min(...values).toFixed(digits);
  const hi = Math.max(...values).toFixed(digits);
  return lo === hi ? lo : `${lo}–${hi}`;
}

/**
 * One row per (server, rate) from its rounds, in the order each first appears: the
 * round whose CPU per handshake is nearest the median of the usable rounds (so its
 * other columns are one real measurement), with the CPU set to that median, the
 * min–max of the usable rounds in `extra.cpuSpread`, and `extra.rounds` = usable/run.
 * A row is usable when `usable(row)` says so; with none usable, the first round's row
 * stands, marked as not usable by the caller's own test.
 */
export function medianRows (rows: readonly Row[], usable: (row: Row) => boolean): Row[] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = `${row.server}\u0000${String(row.extra.rate)}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((group) => {
    const good = group.filter(usable);
    const count = `${good.length}/${group.length}`;
    if (good.length === 0) return { ...group[0], extra: { ...group[0].extra, rounds: count } };
    const cpus = good.map((r) => r.cpuUsPerHandshake);
    const mid = median(cpus);
    const nearest = good.reduce((a, b) => (Math.abs(b.cpuUsPerHandshake - mid) < Math.abs(a.cpuUsPerHandshake - mid) ? b : a));
    return {
      ...nearest,
      cpuUsPerHandshake: Math.round(mid * 10) / 10,
      extra: { ...nearest.extra, round: undefined, rounds: count, ...(good.length > 1 ? { cpuSpread: spreadOf(cpus) } : {}) }
    };
  });
}

export interface RoundRatio { round: number; ratio: number; ours: Row; ref: Row }

/** `ours` over `ref` round by round, for the rounds where both are usable. */
export function ratiosByRound (ours: readonly Row[], ref: readonly Row[], usable: (row: Row) => boolean): RoundRatio[] {
  const out: RoundRatio[] = [];
  for (const o of ours.filter(usable)) {
    const r = ref.find((x) => roundOf(x) === roundOf(o) && usable(x));
    if (r) out.push({ round: roundOf(o), ratio: o.cpuUsPerHandshake / r.cpuUsPerHandshake, ours: o, ref: r });
  }
  return out.sort((a, b) => a.round - b.round);
}

/** The median ratio and how the rounds spread: `0.84×` or `0.84× (0.80–0.91)`. */
export function ratioText (ratios: readonly RoundRatio[]): string | undefined {
  if (ratios.length === 0) return undefined;
  const values = ratios.map((r) => r.ratio);
  const mid = `${median(values).toFixed(2)}×`;
  const spread = spreadOf(values, 2);
  return spread.includes('–') ? `${mid} (${spread})` : mid;
}
