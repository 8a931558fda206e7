// Writes docs/benchmarks.md: machine, versions, command, where warmshake stands against
// each target, then one table per scenario with warmshake's ratio to the best anchor.
import { writeFileSync } from 'node:fs';
import type { RatioSpec, ScenarioReport } from './context.ts';
import type { Environment } from './environment.ts';
import type { Row } from './measure.ts';

export interface ReportInput {
  env: Environment;
  command: string;
  startedAt: Date;
  minutes: number;
  quick: boolean;
  skipped: Record<string, string>;
  pinning: string;
  scenarios: ScenarioReport[];
  /** "Where we stand" lines, worked out by the caller from the scenarios. */
  targets: string[];
}

const ANCHORS = new Set(['haproxy', 'nginx']);
const NAMES: Record<string, string> = { haproxy: 'HAProxy', nginx: 'nginx' };

export function valueOf (row: Row, key: string): unknown {
  return key.startsWith('extra.') ? row.extra[key.slice(6)] : (row as unknown as Record<string, unknown>)[key];
}

function cell (value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2);
  return String(value).replaceAll('|', '\\|');
}

function isWarmshake (row: Row): boolean {
  return row.server === 'warmshake' || row.server === 'warmshake+redis';
}

/** warmshake's value over the best anchor's, within rows of one group. */
export function ratioOf (rows: Row[], spec: RatioSpec, server = 'warmshake'): { ratio: number; anchor: string } | undefined {
  const ours = rows.find((r) => r.server === server) ?? rows.find(isWarmshake);
  const candidates = rows.filter((r) => ANCHORS.has(r.server)).map((r) => ({ server: r.server, v: Number(valueOf(r, spec.key)) })).filter((c) => c.v > 0);
  const mine = Number(ours ? valueOf(ours, spec.key) : NaN);
  if (!ours || !(mine > 0) || candidates.length === 0) return undefined;
  const best = candidates.reduce((a, b) => ((spec.lowerIsBetter ? b.v < a.v : b.v > a.v) ? b : a));
  return { ratio: mine / best.v, anchor: NAMES[best.server] ?? best.server };
}

function ratioLines (report: ScenarioReport): string[] {
  const groups = new Map<string, Row[]>();
  for (const row of report.rows) {
    const key = report.groupBy ? String(valueOf(row, report.groupBy)) : '';
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const lines: string[] = [];
  for (const [group, rows] of groups) {
    for (const spec of report.ratios) {
      const r = ratioOf(rows, spec, spec.server);
      if (!r) continue;
      const where = report.groupBy ? ` (${report.groupBy.replace('extra.', '')} ${group})` : '';
      const better = spec.lowerIsBetter ? 'lower is better' : 'higher is better';
      lines.push(`- ${spec.server ?? 'warmshake'} / best anchor (${r.anchor}), ${spec.title}${where}: **${r.ratio.toFixed(2)}×** (${better})`);
    }
  }
  return lines;
}

function table (report: ScenarioReport): string[] {
  const head = `| ${report.columns.map((c) => c.title).join(' | ')} |`;
  const rule = `|${report.columns.map(() => ' --- ').join('|')}|`;
  const body = report.rows.map((row) => `| ${report.columns.map((c) => cell(valueOf(row, c.key))).join(' | ')} |`);
  return [head, rule, ...body];
}

const HOW_TO_READ = [
  '**Fixed rates.** Every server gets the same handshakes per second from an open-loop load generator (`warmshake bench --rate R`: arrivals on a fixed schedule, at most 256 in flight; an arrival that finds 256 in flight is dropped and counted). CPU per handshake depends on the rate on these VMs (fixed costs spread over more handshakes), so servers are compared only at the same rate. A row whose achieved rate is more than 3% under its target (drops, errors) is shown but compared with nothing.',
  '**Server CPU µs/handshake** = CPU time of the whole server process tree, every thread (`/proc/PID/task/TID/schedstat`, nanoseconds, user and kernel), before and after, over completed handshakes. `× HAProxy` is that over HAProxy\'s at the same case and rate.',
  '**Populated cache.** Before measuring, the server stores its sessions by full handshakes (the fill lines say how many, from the load generator on both cores since nothing is measured then); returning clients then offer sessions drawn at random from what was stored. TLS 1.2 ids and TLS 1.3 stateful tickets are lookups in that cache; stateless tickets need no lookup, so their pool is smaller.',
  '**Key exchange.** Node 24\'s client offers X25519MLKEM768 first; Node\'s OpenSSL 3.5 (warmshake) takes it, OpenSSL 3.0 (HAProxy 2.6, nginx 1.22) cannot and takes X25519. Every row pins X25519 (P-256 listed after it, for the ECDSA certificate in TLS 1.2) except the one labelled hybrid; the `group` column shows what was negotiated.',
  '**Same setup for every server**: ECDSA P-256 certificate, cache room for 120,000 sessions, lifetime 3600 s (so that no pool expires during the rounds), same ciphers, same thread count, the same TCP backend (a tiny Node server on the load generator\'s core) reached once per handshake: HAProxy `mode tcp` + `bind ... ssl`, nginx `stream` + `listen ... ssl` + `proxy_pass`, warmshake `mode: terminate` (log level `warn`). No request is sent: what is measured is the handshake plus the backend connect.',
  '**Rounds and medians.** Every server of every instance is started and filled first and kept running (idle, a warmshake uses 0.5–1.6 ms of CPU per second, HAProxy and nginx next to nothing: the `settled` line under the fills shows each; a neighbour\'s CPU is not counted in the measured server\'s), then left until every one is idle; a 2 s warm-up each; then the fixed-rate cases run in rounds (3 by default, `--rounds N`): each round measures every case at every rate on every server, one load at a time, the order of cases and of servers rotating from round to round. A table row is the median over the rounds that achieved their rate (`rounds` = usable/run), the median round\'s other columns, and `µs min–max` the spread of those rounds. `× HAProxy` and `× 1 worker` are taken within each round (both rows measured minutes apart at most, so drift between rounds cancels) and the median of those ratios is shown with their range; the targets below are met or missed on that median, each round\'s ratio listed after it. A target whose rounds straddle its limit is not firm: rerun on a quiet machine.',
  '**Machine**: shared with other engineers\' builds and tests; the load average at start and end is above. Rerun on a quiet machine for figures to quote.',
  '**Running it**: `npm run bench` (this report; `--fill N` stores N sessions instead of 100,000; `--rounds N`; `--cases ID,...` runs some fixed-rate cases only), `npm run bench -- --quick` (one rate, small pools: a smoke run that writes no report), `npm run bench -- --only rate|flood|NAME` (one part, or one of the older closed-loop scenarios of bench/scenarios.ts), `warmshake bench HOST:PORT --rate R --group X25519` (the load generator alone).'
];

export function renderReport (input: ReportInput): string {
  const { env } = input;
  const out: string[] = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts); do not edit by hand. Each result is also printed as one JSON line.',
    '',
    '## Machine and command',
    '',
    `- Run: ${input.startedAt.toISOString()} (${input.minutes.toFixed(1)} min)${input.quick ? ', **--quick** (short runs, smaller fills)' : ''}`,
    `- Command: \`${input.command}\``,
    `- Machine: \`nproc\` = ${env.nproc}, ${env.cpuModel}, Linux ${env.kernel}; load average (1, 5, 15 min) at start: ${env.loadAverage}${env.loadAverageEnd ? `, at end: ${env.loadAverageEnd}` : ''} (the machine is shared: other processes add noise; above 2 on 2 cores, other work competed with the servers and the load generator)`,
    ...Object.entries(env.versions).map(([name, v]) => `- ${name}: ${v}`),
    `- Pinning: ${input.pinning}`,
    ...Object.entries(input.skipped).map(([name, why]) => `- **${name} skipped**: ${why}`),
    '',
    '## How to read this',
    '',
    ...HOW_TO_READ.map((line) => `- ${line}`),
    '',
    '## Where we stand vs the targets',
    '',
    ...(input.targets.length > 0 ? input.targets : ['- No target was measured in this run.']),
    ''
  ];
  for (const report of input.scenarios) {
    out.push(`## ${report.title}`, '', `Scenario \`${report.id}\`: ${report.setup}.`, '');
    if (report.rows.length > 0) out.push(...table(report), '');
    const ratios = ratioLines(report);
    if (ratios.length > 0) out.push(...ratios, '');
    const failures = [...new Set(report.rows.filter((r) => r.extra.serverFailure !== undefined)
      .map((r) => `- **${r.server} failed during the run**: ${String(r.extra.serverFailure).replace(/\s+/g, ' ').slice(0, 400)}`))];
    if (failures.length > 0) out.push(...failures, '');
    if (report.notes.length > 0) out.push(...report.notes.map((n) => `- ${n}`), '');
  }
  return out.join('\n');
}

export function writeReport (file: string, input: ReportInput): void {
  writeFileSync(file, renderReport(input));
}
