// One load-generator thread. Closed loop: keeps `plan.connections` handshakes in flight
// until the deadline (or its share of --count). Open loop (`plan.rate`): starts
// connections on a fixed schedule, at most `plan.connections` in flight. Each offers a
// saved session with probability `plan.resume`; counts and encoded histograms go back
// to the coordinator.

import { parentPort, workerData } from 'node:worker_threads';
import { clientContext, handshake } from '../handshake.ts';
import type { SessionOutcome } from '../handshake.ts';
import { encodeHistogram, newHistogram, recordMs } from './histogram.ts';
import type { WorkerPlan, WorkerReport } from './options.ts';
import { packSessions, unpackSessions } from './sessions.ts';

const plan = workerData as WorkerPlan;
const secureContext = clientContext(plan.handshake);

// Client identities: each has at most one saved session, like a device that reconnects.
// A populated run hands the first identities their sessions up front.
const preloaded = unpackSessions(plan.sessions);
const sessions: (Buffer | undefined)[] = new Array(Math.max(plan.clients, preloaded.length)).fill(undefined);
const withSession: number[] = [];
for (const [identity, session] of preloaded.entries()) {
  sessions[identity] = session;
  withSession.push(identity);
}
// Fresh clients take identities without a session first, so N full handshakes fill N identities.
let nextFresh = preloaded.length;

const full = newHistogram();
const resumedHistogram = newHistogram();
const errors: Record<string, number> = {};
const protocols: Record<string, number> = {};
const groups: Record<string, number> = {};
const closing = new Set<Promise<void>>();
let handshakes = 0;
let resumed = 0;
let offered = 0;
let ticketsMissing = 0;
let attempts = 0;
let dropped = 0;
let inFlight = 0;

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
  const identity = offer ? withSession[pick(withSession.length)] : nextFresh < sessions.length ? nextFresh++ : pick(sessions.length);
  const session = offer ? sessions[identity] : undefined;
  // Waiting for a TLS 1.3 ticket only pays off when sessions will be offered later.
  const ticketWaitMs = plan.resume > 0 || plan.collect ? plan.handshake.ticketWaitMs : 0;
  const outcome = await handshake({ ...plan.handshake, ticketWaitMs, session, localAddress: sourceAddress(), secureContext });
  if (!outcome.ok) {
    bump(errors, outcome.error);
    return;
  }
  handshakes++;
  bump(protocols, outcome.protocol);
  bump(groups, outcome.group);
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Arrival k is due at started + k / rate, whatever happened to the earlier ones, so a
 * slow server does not slow the offered load (closed-loop lanes would). Timers wake
 * late on a busy core: every due arrival is started on waking, none is skipped.
 */
async function openLoop (started: number, deadline: number): Promise<void> {
  const running = new Set<Promise<void>>();
  const intervalMs = 1000 / plan.rate;
  // Every arrival due before the deadline is started, even when the timer wakes after it.
  const total = Math.round((plan.durationMs * plan.rate) / 1000);
  let due = 0;
  while (due < total && (plan.count === 0 || attempts < plan.count)) {
    const now = performance.now();
    while (due < total && started + due * intervalMs <= now && (plan.count === 0 || attempts < plan.count)) {
      due++;
      if (inFlight >= plan.connections) { dropped++; continue; }
      attempts++;
      inFlight++;
      const one = connectOnce().finally(() => { inFlight--; running.delete(one); });
      running.add(one);
    }
    if (due < total) await sleep(Math.max(0, started + due * intervalMs - performance.now()));
  }
  await Promise.all(running);
}

async function run (): Promise<void> {
  const started = performance.now();
  const deadline = started + plan.durationMs;
  if (plan.rate > 0) await openLoop(started, deadline);
  else await Promise.all(Array.from({ length: plan.connections }, () => lane(deadline)));
  const elapsedMs = performance.now() - started;
  // Bounded by ticketWaitMs: only so the missing-ticket count is complete.
  await Promise.all(closing);
  const report: WorkerReport = {
    handshakes, resumed, offered, elapsedMs,
    fullHistogram: encodeHistogram(full),
    resumedHistogram: encodeHistogram(resumedHistogram),
    errors, protocols, groups, ticketsMissing, attempts, dropped,
    ...(plan.collect ? { sessions: packSessions(sessions.filter((x): x is Buffer => x !== undefined)) } : {})
  };
  parentPort?.postMessage({ type: 'report', report });
}

// Start on the coordinator's word, so every thread's clock starts once all are loaded.
parentPort?.once('message', () => { void run(); });
parentPort?.postMessage({ type: 'ready' });
