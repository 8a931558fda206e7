// Options and result of `warmshake bench`, kept apart so the argv parser, the
// coordinator, the worker threads and the report share one definition.

import type { TlsVersion } from '../handshake.ts';
import type { PackedSessions } from './sessions.ts';

export type { TlsVersion } from '../handshake.ts';

export interface BenchOptions {
  host: string;
  port: number;
  /** Handshakes in flight at any time, over all threads (with `rate`: the most in flight). */
  connections: number;
  /**
   * Open loop: start this many connections per second over all threads, whatever the
   * server's pace, at most `connections` in flight (an arrival that finds them all busy
   * is counted in `dropped`, not queued). 0 = closed loop: `connections` lanes, each
   * starting its next handshake when the last one ends.
   */
  rate: number;
  /** Key-exchange group(s) offered, OpenSSL names joined by ':' (e.g. X25519); undefined = Node's default list. */
  group: string | undefined;
  /** Seconds of load; new connections stop at the deadline, those in flight finish. */
  duration: number;
  /** Share of connections that offer a saved session (0..1). */
  resume: number;
  tls: TlsVersion | undefined;
  /** Distinct client identities, each with its own saved session, spread over the threads. */
  clients: number;
  /** false: do not ask for tickets (TLS 1.2 then resumes by session id only). */
  tickets: boolean;
  /** SNI (--sni); undefined sends the host name when it is not an IP address. */
  servername: string | undefined;
  /** Bytes written after each handshake, then one answer chunk is awaited; 0 = none. */
  send: number;
  /** Load-generator worker threads; undefined = available CPUs (never more than `connections`). */
  threads: number | undefined;
  /** Stop after this many connection attempts in total; 0 = only the duration bounds it. */
  count: number;
  /** Per connection: connect start to handshake end (and the --send answer). */
  timeoutMs: number;
  /** After a TLS 1.3 handshake whose session is kept, how long to wait for the ticket. */
  ticketWaitMs: number;
  json: boolean;
  /** In-process callers only: saved sessions the clients start with (one identity each; `clients` is raised to their count). */
  sessions?: readonly Buffer[];
  /** In-process callers only: return every identity's latest session in `BenchResult.sessions`. */
  collectSessions?: boolean;
}

export const DEFAULT_BENCH_OPTIONS: Readonly<BenchOptions> = Object.freeze({
  host: '127.0.0.1',
  port: 8443,
  connections: 50,
  rate: 0,
  group: undefined,
  duration: 10,
  resume: 0.8,
  tls: undefined,
  clients: 1000,
  tickets: true,
  servername: undefined,
  send: 0,
  threads: undefined,
  count: 0,
  timeoutMs: 5000,
  ticketWaitMs: 1000,
  json: false
});

/** Milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface BenchResult {
  target: string;
  tls: TlsVersion | 'any';
  tickets: boolean;
  connections: number;
  threads: number;
  clients: number;
  /** Seconds actually measured: from the start to the last connection's end. */
  duration: number;
  handshakes: number;
  full: number;
  resumed: number;
  /** Connections that offered a saved session. */
  offered: number;
  /** resumed / offered, in percent (0 when nothing was offered). */
  resumedPct: number;
  handshakesPerSecond: number;
  /** Open loop: the rate asked for (0 = closed loop). */
  targetRate: number;
  /** Connections started (handshakes + errors). */
  attempts: number;
  /** Open loop: arrivals not started because `connections` were already in flight. */
  dropped: number;
  fullPerSecond: number;
  resumedPerSecond: number;
  latency: { all: LatencySummary; full: LatencySummary; resumed: LatencySummary };
  /** Failures by kind: errno code, OpenSSL alert code, `timeout`, `response-timeout`. */
  errors: Record<string, number>;
  /** Negotiated protocol versions. */
  protocols: Record<string, number>;
  /** Negotiated key-exchange groups. */
  groups: Record<string, number>;
  notes: string[];
  /** With `collectSessions`: the latest session of every identity that has one. */
  sessions?: Buffer[];
}

/** What each worker thread reports back once it has stopped. */
export interface WorkerReport {
  handshakes: number;
  resumed: number;
  offered: number;
  elapsedMs: number;
  /** hdr-histogram-js compressed base64, microseconds. */
  fullHistogram: string;
  resumedHistogram: string;
  errors: Record<string, number>;
  protocols: Record<string, number>;
  /** Negotiated key-exchange groups. */
  groups: Record<string, number>;
  ticketsMissing: number;
  attempts: number;
  dropped: number;
  /** With `collect`: packed sessions (see sessions.ts). */
  sessions?: PackedSessions;
}

/** What each worker thread gets in `workerData`. */
export interface WorkerPlan {
  handshake: {
    host: string;
    port: number;
    servername: string | undefined;
    tls: TlsVersion | undefined;
    tickets: boolean;
    timeoutMs: number;
    ticketWaitMs: number;
    send: number;
    group: string | undefined;
  };
  connections: number;
  /** Open-loop arrivals per second for this thread; 0 = closed loop. */
  rate: number;
  /** Sessions this thread's first identities start with. */
  sessions?: PackedSessions;
  collect: boolean;
  clients: number;
  resume: number;
  durationMs: number;
  /** Connection attempts this thread may make; 0 = unbounded. */
  count: number;
}
