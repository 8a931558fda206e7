// One load-generator thread. Keeps `plan.connections` handshakes in flight until the
// deadline (or its share of --count), each offering a saved session with probability
// `plan.resume`, and reports counts and encoded histograms to the coordinator.

import { parentPort, workerData } from 'node:worker_threads';
import { handshake } from '../handshake.ts';
import type { SessionOutcome } from '../handshake.ts';
import { encodeHistogram, newHistogram, recordMs } from './histogram.ts';
import type { WorkerPlan, WorkerReport } from './options.ts';

const plan = workerData as WorkerPlan;

// Client identities: each has at most one saved session, like a device that reconnects.
const sessions: (Buffer | undefined)[] = new Array(plan.clients).fill(undefined);
const withSession: number[] = [];

const full = newHistogram();
const resumedHistogram = newHistogram();
const errors: Record<string, number> = {};
const protocols: Record<string, number> = {};
const closing = new Set<Promise<void>>();
let handshakes = 0;
let resumed = 0;
let offered = 0;
let ticketsMissing = 0;
let attempts = 0;

const bump = (counts: Record<string, number>, key: string): void => { counts[key] = (counts[key] ?? 0) + 1; };
const pick = (n: number): number => Math.floor(Math.random() * n);

function keep (identity: number, outcome: SessionOutcome, expectTicket: boolean): void {
  if (expectTicket && outcome.sessionsReceived === 0) ticketsMissing++;
  if (outcome.session === undefined) return;
  if (sessions[identity] === undefined) withSession.push(identity);
  sessions[identity] = outcome.session;
}

// On loopback every connection takes a client port that then sits in TIME_WAIT for a
// minute: a few thousand handshakes a second run out of the ~28k ports, and the stalls
// (SYN retried after 1 s, 3 s) would be charged to the server. Spreading the clients
// over 250 source addresses of 127.0.0.0/8 gives each its own port range.
const LOOPBACK_SOURCES = 250;
const loopback = /^127\./.test(plan.handshake.host);
let nextSource = 0;

function sourceAddress (): string | undefined {
  if (!loopback) return undefined;
  nextSource = (nextSource + 1) % LOOPBACK_SOURCES;
  return `127.0.0.${nextSource + 2}`;
}

async function connectOnce (): Promise<void> {
  const offer = withSession.length > 0 && Math.random() < plan.resume;
  // A returning client offers its own session; a fresh one then becomes some identity.
  const identity = offer ? withSession[pick(withSession.length)] : pick(plan.clients);
  const session = offer ? sessions[identity] : undefined;
  // Waiting for a TLS 1.3 ticket only pays off when sessions will be offered later.
  const ticketWaitMs = plan.resume > 0 ? plan.handshake.ticketWaitMs : 0;
  const outcome = await handshake({ ...plan.handshake, ticketWaitMs, session, localAddress: sourceAddress() });
  if (!outcome.ok) {
    bump(errors, outcome.error);
    return;
  }
  handshakes++;
  bump(protocols, outcome.protocol);
  recordMs(outcome.resumed ? resumedHistogram : full, outcome.handshakeMs);
  if (offer) {
    offered++;
    if (outcome.resumed) resumed++;
  }
  // The ticket wait runs beside the next handshake: it is an artefact of the client
  // API, not load on the server, so it must not hold a connection slot.
  const expectTicket = ticketWaitMs > 0 && !outcome.resumed && outcome.protocol === 'TLSv1.3';
  const settled = outcome.finished.then((after) => keep(identity, after, expectTicket));
  closing.add(settled);
  void settled.finally(() => closing.delete(settled));
  const { responseError } = await outcome.exchange;
  if (responseError !== undefined) bump(errors, responseError);
}

async function lane (deadline: number): Promise<void> {
  while (performance.now() < deadline && (plan.count === 0 || attempts < plan.count)) {
    attempts++;
    await connectOnce();
  }
}

async function run (): Promise<void> {
  const started = performance.now();
  const deadline = started + plan.durationMs;
  await Promise.all(Array.from({ length: plan.connections }, () => lane(deadline)));
  const elapsedMs = performance.now() - started;
  // Bounded by ticketWaitMs: only so the missing-ticket count is complete.
  await Promise.all(closing);
  const report: WorkerReport = {
    handshakes, resumed, offered, elapsedMs,
    fullHistogram: encodeHistogram(full),
    resumedHistogram: encodeHistogram(resumedHistogram),
    errors, protocols, ticketsMissing
  };
  parentPort?.postMessage({ type: 'report', report });
}

// Start on the coordinator's word, so every thread's clock starts once all are loaded.
parentPort?.once('message', () => { void run(); });
parentPort?.postMessage({ type: 'ready' });
