// One measured load against one running server: `runBench` from the load generator's
// core, with the server's CPU read from /proc before and after. Also the JSON line
// every result is printed as.
import { runBench } from '../src/cli/bench/index.ts';
import type { BenchOptions, BenchResult } from '../src/cli/bench/index.ts';
import { DEFAULT_BENCH_OPTIONS } from '../src/cli/bench/index.ts';
import { cpuBetween, perHandshakeUs, sampleCpu } from './cpu.ts';
import type { RunningServer } from './servers/index.ts';

export interface Row {
  server: string;
  handshakes: number;
  handshakesPerSecond: number;
  resumedPct: number;
  /** Share of all completed handshakes that resumed. */
  resumedOfAllPct: number;
  cpuUsPerHandshake: number;
  /** Server CPU over wall time; 100 = one core. Below 100 × threads the client was the limit. */
  serverCpuPct: number;
  /** The load generator's own CPU over wall time (all its threads); near 100 = it was the limit. */
  clientCpuPct?: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Scenario-specific numbers (memory, series...). */
  extra: Record<string, unknown>;
}

export type LoadOptions = Partial<BenchOptions> & Pick<BenchOptions, 'duration'>;

export function emit (scenario: string, row: object): void {
  console.log(JSON.stringify({ bench: 'compare', scenario, ...row }));
}

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

export function rowFromBench (label: string, result: BenchResult, cpuUs: number, cpuPct: number, extra: Record<string, unknown> = {}): Row {
  const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
  return {
    server: label,
    handshakes: result.handshakes,
    handshakesPerSecond: result.handshakesPerSecond,
    resumedPct: result.resumedPct,
    resumedOfAllPct: result.handshakes > 0 ? round((result.resumed / result.handshakes) * 100) : 0,
    cpuUsPerHandshake: perHandshakeUs({ cpuUs, wallUs: 0, cpuPct: 0 }, result.handshakes),
    serverCpuPct: cpuPct,
    p50Ms: round(result.latency.all.p50),
    p99Ms: round(result.latency.all.p99),
    errors,
    extra: { ...extra, ...(errors > 0 ? { errorKinds: result.errors } : {}), ...(result.notes.length > 0 ? { notes: result.notes } : {}) }
  };
}

export function benchOptions (port: number, load: LoadOptions): BenchOptions {
  return { ...DEFAULT_BENCH_OPTIONS, host: '127.0.0.1', servername: 'localhost', send: 0, port, ...load };
}

/** Runs the load against `server` and returns its row (and the raw result). */
export async function measure (server: RunningServer, load: LoadOptions, extra: Record<string, unknown> = {}): Promise<{ row: Row; result: BenchResult }> {
  const before = sampleCpu([server.pid]);
  const client = process.cpuUsage();
  const result = await runBench(benchOptions(server.port, load));
  const usage = cpuBetween(before, sampleCpu([server.pid]));
  const spent = process.cpuUsage(client);
  const row = rowFromBench(server.label, result, usage.cpuUs, usage.cpuPct, extra);
  const failure = server.failure();
  if (failure !== undefined) row.extra.serverFailure = failure;
  row.clientCpuPct = usage.wallUs > 0 ? Math.round(((spent.user + spent.system) / usage.wallUs) * 1000) / 10 : 0;
  return { row, result };
}
