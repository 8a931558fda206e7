// `warmshake bench`: a concurrent TLS handshake load generator.
export { runBench } from './load.ts';
export { formatBench, formatBenchJson, runBenchCommand } from './report.ts';
export { DEFAULT_BENCH_OPTIONS } from './options.ts';
export type { BenchOptions, BenchResult, LatencySummary, TlsVersion } from './options.ts';
