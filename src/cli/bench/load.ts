// The bench coordinator: splits connections and client identities over worker threads
// (so the load generator, not the server, is never the one out of CPU), starts them
// together, and merges what they report into one BenchResult.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { addEncoded, newHistogram, summarize } from './histogram.ts';
import type { BenchOptions, BenchResult, WorkerPlan, WorkerReport } from './options.ts';
import { packSessions, sliceFor, unpackSessions } from './sessions.ts';

const WORKER_URL = new URL('./load-worker.ts', import.meta.url);

function validate (options: BenchOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) problems.push('port must be 1..65535');
  if (!Number.isInteger(options.connections) || options.connections < 1) problems.push('connections must be an integer >= 1');
  if (!(options.duration > 0)) problems.push('duration must be > 0 seconds');
  if (!(options.resume >= 0 && options.resume <= 1)) problems.push('resume must be between 0 and 1');
  if (!Number.isInteger(options.clients) || options.clients < 1) problems.push('clients must be an integer >= 1');
  if (!Number.isInteger(options.send) || options.send < 0) problems.push('send must be an integer >= 0');
  if (!Number.isInteger(options.count) || options.count < 0) problems.push('count must be an integer >= 0');
  if (!(options.rate >= 0 && Number.isFinite(options.rate))) problems.push('rate must be a number >= 0');
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) problems.push('threads must be an integer >= 1');
  if (problems.length > 0) throw new RangeError(`bench: ${problems.join('; ')}`);
}

/** Splits `total` into `parts` near-equal integers (the first ones get the remainder). */
function share (total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

function runWorker (plan: WorkerPlan, started: Promise<void>): { ready: Promise<void>; report: Promise<WorkerReport>; worker: Worker } {
  const worker = new Worker(WORKER_URL, { workerData: plan });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => { onReady = resolve; });
  const report = new Promise<WorkerReport>((resolve, reject) => {
    worker.on('message', (message: { type: string; report?: WorkerReport }) => {
      if (message.type === 'ready') {
        onReady();
        void started.then(() => worker.postMessage('start'));
      } else if (message.type === 'report' && message.report !== undefined) {
        resolve(message.report);
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`bench worker exited (code ${code}) before reporting`)));
  });
  // A worker dying before 'ready' must not leave the coordinator waiting forever.
  report.catch(() => onReady());
  return { ready, report, worker };
}

export async function runBench (options: BenchOptions): Promise<BenchResult> {
  validate(options);
  const threads = Math.min(options.threads ?? availableParallelism(), options.connections);
  const clientsPerThread = (index: number): number => Math.max(1, share(options.clients, threads, index));
  let start!: () => void;
  const started = new Promise<void>((resolve) => { start = resolve; });
  const runs = Array.from({ length: threads }, (_, index) => runWorker({
    handshake: {
      host: options.host, port: options.port, servername: options.servername, tls: options.tls,
      tickets: options.tickets, timeoutMs: options.timeoutMs, ticketWaitMs: options.ticketWaitMs, send: options.send,
      group: options.group
    },
    connections: share(options.connections, threads, index),
    rate: options.rate / threads,
    ...(options.sessions && options.sessions.length > 0 ? { sessions: packSessions(sliceFor(options.sessions, threads, index)) } : {}),
    collect: options.collectSessions === true,
    clients: clientsPerThread(index),
    resume: options.resume,
    durationMs: options.duration * 1000,
    // A thread with no share of a small --count must not run unbounded.
    count: options.count === 0 ? 0 : Math.max(1, share(options.count, threads, index))
  }, started));
  let reports: WorkerReport[];
  try {
    await Promise.all(runs.map((r) => r.ready));
    start();
    reports = await Promise.all(runs.map((r) => r.report));
  } finally {
    // Sockets still closing gently are of no interest once the numbers are in.
    await Promise.all(runs.map((r) => r.worker.terminate()));
  }
  const clients = Array.from({ length: threads }, (_, i) => clientsPerThread(i)).reduce((a, b) => a + b, 0);
  return merge(options, reports, threads, clients);
}

function merge (options: BenchOptions, reports: WorkerReport[], threads: number, clients: number): BenchResult {
  const full = newHistogram();
  const resumedHistogram = newHistogram();
  const all = newHistogram();
  const errors: Record<string, number> = {};
  const protocols: Record<string, number> = {};
  const groups: Record<string, number> = {};
  let handshakes = 0; let resumed = 0; let offered = 0; let ticketsMissing = 0; let elapsedMs = 0;
  let attempts = 0; let dropped = 0;
  const sessions: Buffer[] = [];
  for (const report of reports) {
    handshakes += report.handshakes; resumed += report.resumed; offered += report.offered;
    ticketsMissing += report.ticketsMissing; attempts += report.attempts; dropped += report.dropped;
    sessions.push(...unpackSessions(report.sessions));
    elapsedMs = Math.max(elapsedMs, report.elapsedMs);
    addEncoded(full, report.fullHistogram);
    addEncoded(resumedHistogram, report.resumedHistogram);
    for (const [kind, n] of Object.entries(report.errors)) errors[kind] = (errors[kind] ?? 0) + n;
    for (const [name, n] of Object.entries(report.protocols)) protocols[name] = (protocols[name] ?? 0) + n;
    for (const [name, n] of Object.entries(report.groups)) groups[name] = (groups[name] ?? 0) + n;
  }
  all.add(full);
  all.add(resumedHistogram);
  // Open loop: the rate is over the arrival window, not the tail that drains the last ones.
  const seconds = options.rate > 0 ? Math.min(elapsedMs / 1000, options.duration) : elapsedMs / 1000;
  const rate = (n: number): number => (seconds > 0 ? Math.round((n / seconds) * 10) / 10 : 0);
  const notes: string[] = [];
  if (!options.tickets && (options.tls === '1.3' || (protocols['TLSv1.3'] ?? 0) > 0)) {
    notes.push('TLS 1.3: a client cannot refuse tickets; the server chose stateless or stateful tickets (--no-tickets only affects TLS 1.2)');
  }
  if (ticketsMissing > 0) notes.push(`${ticketsMissing} TLS 1.3 full handshakes got no ticket within ${options.ticketWaitMs} ms`);
  if (options.resume > 0 && offered === 0) notes.push('no session was ever offered: the server gave none');
  if (dropped > 0) notes.push(`${dropped} arrivals were not started: ${options.connections} connections were already in flight`);
  return {
    target: `${options.host}:${options.port}`,
    tls: options.tls ?? 'any',
    tickets: options.tickets,
    connections: options.connections,
    threads,
    clients,
    duration: Math.round(seconds * 1000) / 1000,
    handshakes,
    full: handshakes - resumed,
    resumed,
    offered,
    resumedPct: offered > 0 ? Math.round((resumed / offered) * 10000) / 100 : 0,
    handshakesPerSecond: rate(handshakes),
    targetRate: options.rate,
    attempts,
    dropped,
    fullPerSecond: rate(handshakes - resumed),
    resumedPerSecond: rate(resumed),
    latency: { all: summarize(all), full: summarize(full), resumed: summarize(resumedHistogram) },
    errors,
    protocols,
    groups,
    notes,
    ...(options.collectSessions ? { sessions } : {})
  };
}
