// The fixed-rate run as report sections and target lines: per (server, case, rate) the
// median over rounds (rounds.ts) with its min–max, its CPU per handshake over HAProxy's
// as the median of the rounds' ratios, and each issue-11 target as met or missed from
// those medians, with each round's ratio. A round that missed its rate is shown in the
// `rounds` count but compared with nothing.
import type { Column, ScenarioReport } from './context.ts';
import type { RateRun } from './fixed-rate.ts';
import { RATE_TOLERANCE } from './fixed-rate.ts';
import type { Row } from './measure.ts';
import { rateCases } from './rate-cases.ts';
import { median, medianRows, ratiosByRound, ratioText } from './rounds.ts';

export const RATE_COLUMNS: Column[] = [
  { key: 'server', title: 'server' },
  { key: 'extra.rate', title: 'target /s' },
  { key: 'handshakesPerSecond', title: 'achieved /s' },
  { key: 'errors', title: 'errors' },
  { key: 'extra.dropped', title: 'dropped' },
  { key: 'resumedPct', title: 'resumed %' },
  { key: 'cpuUsPerHandshake', title: 'server CPU µs/handshake' },
  { key: 'extra.cpuSpread', title: 'µs min–max' },
  { key: 'extra.vsHaproxy', title: '× HAProxy' },
  { key: 'serverCpuPct', title: 'server CPU %' },
  { key: 'clientCpuPct', title: 'client CPU %' },
  { key: 'p50Ms', title: 'p50 ms' },
  { key: 'p99Ms', title: 'p99 ms' },
  { key: 'extra.group', title: 'group' },
  { key: 'extra.compared', title: 'compared' },
  { key: 'extra.rounds', title: 'rounds' }
];

const valid = (row: Row | undefined): boolean => row !== undefined && row.extra.valid === true && row.cpuUsPerHandshake > 0;
const atRate = (rows: Row[] | undefined, server: string, rate: number): Row | undefined =>
  rows?.find((r) => r.server === server && r.extra.rate === rate);
/** Every round's row of `server` at `rate`. */
const roundsAt = (rows: Row[] | undefined, server: string, rate: number): Row[] =>
  (rows ?? []).filter((r) => r.server === server && r.extra.rate === rate);

/** One median row per (server, rate), its ratio to HAProxy's the median of the rounds' ratios. */
function annotate (roundRows: Row[]): Row[] {
  const rows = medianRows(roundRows, valid);
  for (const row of rows) {
    const rate = Number(row.extra.rate);
    const rounds = String(row.extra.rounds);
    const all = rounds.split('/')[0] === rounds.split('/')[1];
    row.extra.compared = valid(row) ? (all ? 'yes' : `yes (${rounds} rounds)`) : row.extra.serverFailure !== undefined ? 'no: server failed' : `no: achieved ${rate > 0 ? Math.round((row.handshakesPerSecond / rate) * 100) : 0}% of the rate`;
    row.extra.vsHaproxy = ratioText(ratiosByRound(roundsAt(roundRows, row.server, rate), roundsAt(roundRows, 'haproxy', rate), valid));
  }
  return rows;
}

/** The 2-worker rows against the same engine's 1-worker rows at the same rate, round by round. */
function againstOneWorker (rows: Row[], roundRows: Row[], oneWorker: Row[] | undefined): void {
  for (const row of rows) {
    const rate = Number(row.extra.rate);
    row.extra.vsOneWorker = ratioText(ratiosByRound(roundsAt(roundRows, row.server, rate), roundsAt(oneWorker, row.server, rate), valid));
  }
}

const ONE_WORKER_COLUMN: Column = { key: 'extra.vsOneWorker', title: '× 1 worker' };

export function rateSections (run: RateRun, quick: boolean): ScenarioReport[] {
  return rateCases(quick).map((c) => {
    const roundRows = run.rows.get(c.id) ?? [];
    const rows = annotate(roundRows);
    const twoWorkers = c.instance === 'workers2';
    if (twoWorkers) againstOneWorker(rows, roundRows, run.rows.get('rate-tls12-ids'));
    const columns = twoWorkers ? RATE_COLUMNS.flatMap((col) => (col.key === 'extra.vsHaproxy' ? [ONE_WORKER_COLUMN] : [col])) : RATE_COLUMNS;
    return {
      id: c.id, title: `${c.title} — fixed rates ${c.rates.join(' and ')}/s`, columns, rows, ratios: [],
      setup: `${c.setup}; TLS ${c.load.tls}; ${c.load.group ? 'groups offered X25519 then P-256 (key share X25519)' : 'client\'s default groups'}`,
      notes: []
    };
  });
}

interface RateTarget { text: string; case: string; limit: number; base?: string }

const TARGETS: RateTarget[] = [
  { text: 'resumed TLS 1.2 by session id ≤ 0.9× HAProxy', case: 'rate-tls12-ids', limit: 0.9 },
  { text: 'resumed TLS 1.2 by ticket ≤ 0.9× HAProxy', case: 'rate-tls12-tickets', limit: 0.9 },
  { text: 'full TLS 1.2 handshake (ECDSA) ≤ 1.0× HAProxy', case: 'rate-tls12-full', limit: 1.0 },
  { text: 'resumed TLS 1.3 by ticket (X25519) ≤ 1.0× HAProxy', case: 'rate-tls13-tickets', limit: 1.0 },
  { text: 'resumed TLS 1.3 stateful (X25519) ≤ 1.0× HAProxy', case: 'rate-tls13-stateful', limit: 1.0 },
  { text: 'CPU per resumed TLS 1.2 handshake with 2 workers ≤ 1.1× with 1', case: 'rate-tls12-ids-2-workers', base: 'rate-tls12-ids', limit: 1.1 }
];

function targetLine (run: RateRun, t: RateTarget, engine: string): string {
  const rates = [...new Set((run.rows.get(t.case) ?? []).filter((r) => r.server === engine).map((r) => Number(r.extra.rate)))];
  const parts: string[] = [];
  let met = 0; let missed = 0;
  for (const rate of rates) {
    const ours = roundsAt(run.rows.get(t.case), engine, rate);
    const ref = t.base ? roundsAt(run.rows.get(t.base), engine, rate) : roundsAt(run.rows.get(t.case), 'haproxy', rate);
    const refName = t.base ? '1 worker' : 'HAProxy';
    const ratios = ratiosByRound(ours, ref, valid);
    if (ratios.length === 0) {
      const which = !ours.some(valid) ? engine : refName;
      parts.push(`${rate}/s not compared (${which} ${ours.length === 0 || ref.length === 0 ? 'not measured' : `missed the rate by more than ${RATE_TOLERANCE * 100}% or failed`})`);
      continue;
    }
    const ratio = median(ratios.map((r) => r.ratio));
    const ok = ratio <= t.limit;
    if (ok) met++; else missed++;
    const us = (rows: Row[]): number => Math.round(median(rows.map((r) => r.cpuUsPerHandshake)) * 10) / 10;
    const each = ratios.length > 1 ? `; rounds ${ratios.map((r) => r.ratio.toFixed(2)).join(', ')}` : '';
    parts.push(`${rate}/s ${ratio.toFixed(2)}× (${ratios.length > 1 ? 'medians ' : ''}${us(ratios.map((r) => r.ours))} vs ${us(ratios.map((r) => r.ref))} µs${each}) ${ok ? 'met' : 'missed'}`);
  }
  const verdict = missed > 0 ? '**missed**' : met > 0 ? '**met**' : 'not measured';
  return `- ${engine}: ${t.text} — ${verdict}${parts.length > 0 ? `: ${parts.join('; ')}` : ''}`;
}

/** One line per (warmshake engine, target). */
export function rateTargets (run: RateRun, unavailable: Record<string, string>): string[] {
  const engines = [...new Set([...run.rows.values()].flat().map((r) => r.server).filter((s) => s.startsWith('warmshake')))];
  const lines: string[] = [];
  for (const engine of engines) {
    for (const t of TARGETS) lines.push(targetLine(run, t, engine));
  }
  for (const [label, why] of Object.entries(unavailable)) lines.push(`- ${label}: ${why}; its targets are not measured.`);
  return lines;
}
