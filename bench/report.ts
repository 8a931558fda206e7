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

interface Target { text: string; limit: number; scenario: string; spec: RatioSpec; higherTarget?: boolean; note?: string }

const CPU: RatioSpec = { key: 'cpuUsPerHandshake', lowerIsBetter: true, title: 'CPU per handshake' };

const TARGETS: Target[] = [
  { text: 'Server CPU per resumed TLS 1.2 handshake (session id) ≤ 1.25× HAProxy', limit: 1.25, scenario: 'tls12-ids', spec: CPU },
  { text: 'Server CPU per resumed TLS 1.2 handshake (ticket) ≤ 1.25× HAProxy', limit: 1.25, scenario: 'tls12-tickets', spec: CPU },
  { text: 'Server CPU per full TLS 1.2 handshake (ECDSA) ≤ 1.1× HAProxy', limit: 1.1, scenario: 'tls12-full', spec: CPU },
  { text: 'Server CPU per full TLS 1.2 handshake (RSA-2048) ≤ 1.1× HAProxy', limit: 1.1, scenario: 'tls12-full-rsa', spec: CPU },
  { text: 'Server CPU per resumed TLS 1.3 handshake (ticket) ≤ 1.25× HAProxy', limit: 1.25, scenario: 'tls13-tickets', spec: CPU }
];

function byServer (reports: ScenarioReport[], scenario: string, server: string): Row | undefined {
  return reports.find((r) => r.id === scenario)?.rows.find((row) => row.server === server);
}

function targetLines (reports: ScenarioReport[]): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean): string => (ok ? '**met**' : '**not met**');
  for (const t of TARGETS) {
    const ours = byServer(reports, t.scenario, 'warmshake');
    const haproxy = byServer(reports, t.scenario, 'haproxy');
    if (!ours || !haproxy || !(ours.cpuUsPerHandshake > 0) || !(haproxy.cpuUsPerHandshake > 0)) {
      lines.push(`- ${t.text}: not measured in this run.`);
      continue;
    }
    const ratio = ours.cpuUsPerHandshake / haproxy.cpuUsPerHandshake;
    lines.push(`- ${t.text}: ${ratio.toFixed(2)}× (${ours.cpuUsPerHandshake} vs ${haproxy.cpuUsPerHandshake} µs) — ${verdict(ratio <= t.limit)}`);
  }
  const one = byServer(reports, 'tls12-ids', 'warmshake');
  const two = byServer(reports, 'tls12-ids-2-threads', 'warmshake');
  if (one && two && one.handshakesPerSecond > 0) {
    const scale = two.handshakesPerSecond / one.handshakesPerSecond;
    const clientBound = one.serverCpuPct < 90;
    const why = clientBound
      ? `not shown by this run: with 1 thread the server was not saturated (server CPU ${one.serverCpuPct}%, client CPU ${one.clientCpuPct ?? '?'}%), so both runs measure the load generator; on 2 cores the load generator needs one of them, so 2 saturated server threads cannot be had`
      : (scale >= 1.7 ? '**met**' : '**not met**');
    lines.push(`- 2 workers scale resumed TLS 1.2 handshakes/s ≥ 1.7× over 1: ${scale.toFixed(2)}× (${one.handshakesPerSecond} → ${two.handshakesPerSecond}/s) — ${why}. CPU per handshake: ${one.cpuUsPerHandshake} µs with 1 thread, ${two.cpuUsPerHandshake} µs with 2.`);
  } else {
    lines.push('- 2 workers scale resumed handshakes/s ≥ 1.7×: not measured in this run.');
  }
  const memory = byServer(reports, 'memory', 'warmshake');
  const segment = Number(memory?.extra.segmentMB);
  if (memory && Number.isFinite(segment)) {
    const control = reports.find((r) => r.id === 'memory')?.rows.find((row) => row.server.startsWith('warmshake (control'));
    const growth = control ? ` Process RSS grew ${cell(memory.extra.rssAddedMB)} MB over the fill, and ${cell(control.extra.rssAddedMB)} MB with a 1,000-session cache under the same load: that growth is the load's, not the cache's.` : '';
    lines.push(`- 100,000 cached sessions add ≤ 40 MB: the cache segment for 100,000 sessions is ${segment} MB (reserved at start; ${cell(memory.extra.segmentBytesPerSession)} resident bytes per new session measured) — ${verdict(segment <= 40)}.${growth}`);
  } else {
    lines.push('- 100,000 cached sessions add ≤ 40 MB: not measured in this run.');
  }
  return lines;
}

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
    `- Machine: \`nproc\` = ${env.nproc}, ${env.cpuModel}, Linux ${env.kernel}; load average at start: ${env.loadAverage} (the machine is shared: other processes add noise)`,
    ...Object.entries(env.versions).map(([name, v]) => `- ${name}: ${v}`),
    `- Pinning: ${input.pinning}`,
    ...Object.entries(input.skipped).map(([name, why]) => `- **${name} skipped**: ${why}`),
    '',
    '## How to read this',
    '',
    '- Same certificate (ECDSA P-256; RSA-2048 for one scenario), cache size (100,000 sessions unless said), lifetime (300 s), thread count, ciphers and backend for all three. One server runs at a time; the order of the servers changes from scenario to scenario so drift is not always charged to the same one.',
    '- All three proxy at the TCP level to the same backend (a tiny Node TCP server answering a fixed HTTP response, pinned with the load generator): HAProxy `mode tcp` with `bind ... ssl`, nginx `stream` with `listen ... ssl` and `proxy_pass`, warmshake `mode: terminate`. None answers locally, because warmshake cannot (it is a TCP terminator), and the per-connection work beyond TLS (accept, connect to the backend, close) is then the same for all. The load sends no request (`--send 0`): what is measured is the handshake plus the backend connect.',
    '- **Server CPU µs/handshake** (utime + stime of the whole server process tree from `/proc/PID/stat`, before and after, over completed handshakes) is the figure to compare. Handshakes/s are often the load generator\'s limit (Node\'s TLS client on one core): when server CPU % is below 100 × threads, the server was not the bottleneck.',
    '- warmshake logs at `warn` (per-handshake logs are `info`); HAProxy and nginx `stream` log nothing per connection either.',
    '',
    '## Where we stand vs the targets',
    '',
    ...targetLines(input.scenarios),
    ''
  ];
  for (const report of input.scenarios) {
    out.push(`## ${report.title}`, '', `Scenario \`${report.id}\`: ${report.setup}.`, '');
    if (report.rows.length > 0) out.push(...table(report), '');
    const ratios = ratioLines(report);
    if (ratios.length > 0) out.push(...ratios, '');
    const failures = report.rows.filter((r) => r.extra.serverFailure !== undefined)
      .map((r) => `- **${r.server} exited during the run**: ${String(r.extra.serverFailure).replace(/\s+/g, ' ').slice(0, 400)}`);
    if (failures.length > 0) out.push(...failures, '');
    if (report.notes.length > 0) out.push(...report.notes.map((n) => `- ${n}`), '');
  }
  return out.join('\n');
}

export function writeReport (file: string, input: ReportInput): void {
  writeFileSync(file, renderReport(input));
}
