// How a BenchResult is shown: a short table for people, one JSON line for scripts.

import type { BenchOptions, BenchResult, LatencySummary } from './options.ts';
import { runBench } from './load.ts';

function latencyLine (name: string, l: LatencySummary): string {
  if (l.count === 0) return `  ${name.padEnd(8)} -`;
  const ms = (v: number): string => v.toFixed(2).padStart(9);
  return `  ${name.padEnd(8)}${ms(l.p50)}${ms(l.p90)}${ms(l.p99)}${ms(l.max)}   (${l.count})`;
}

export function formatBench (result: BenchResult): string {
  const errorKinds = Object.entries(result.errors);
  const lines = [
    `bench ${result.target}  tls=${result.tls}  tickets=${result.tickets ? 'offered' : 'not offered'}  ` +
      `connections=${result.connections}  threads=${result.threads}  clients=${result.clients}  ${result.duration.toFixed(2)} s`,
    `handshakes/s  ${result.handshakesPerSecond}  (full ${result.fullPerSecond}, resumed ${result.resumedPerSecond})` +
      (result.targetRate > 0 ? `  target ${result.targetRate}/s, ${result.dropped} arrivals dropped` : ''),
    `handshakes    ${result.handshakes}  full ${result.full}  resumed ${result.resumed} of ${result.offered} offered (${result.resumedPct}%)`,
    `protocols     ${Object.entries(result.protocols).map(([p, n]) => `${p} ${n}`).join(', ') || '-'}`,
    `groups        ${Object.entries(result.groups).map(([g, n]) => `${g} ${n}`).join(', ') || '-'}`,
    'latency ms        p50      p90      p99      max',
    latencyLine('all', result.latency.all),
    latencyLine('full', result.latency.full),
    latencyLine('resumed', result.latency.resumed),
    `errors        ${errorKinds.length === 0 ? 'none' : errorKinds.map(([k, n]) => `${k} ${n}`).join(', ')}`
  ];
  for (const note of result.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

export function formatBenchJson (result: BenchResult): string {
  return JSON.stringify(result);
}

/** The command: runs the load, writes the report, exit 0 when at least one handshake completed. */
export async function runBenchCommand (options: BenchOptions, write: (text: string) => void): Promise<{ exitCode: number; result: BenchResult }> {
  const result = await runBench(options);
  write(options.json ? formatBenchJson(result) : formatBench(result));
  return { exitCode: result.handshakes > 0 ? 0 : 1, result };
}
