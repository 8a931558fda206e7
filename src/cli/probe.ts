// `warmshake probe HOST:PORT`: what `openssl s_client -reconnect` tells, for TLS 1.2
// and 1.3. Connects `count` times in a row, each time offering the newest session the
// server gave, and shows per connection whether it resumed, with which id or ticket,
// and how long the handshake took. Exit 0 only when every reconnection resumed.

import { handshake } from './handshake.ts';
import type { HandshakeFailure, HandshakeSuccess, SessionOutcome, TlsVersion } from './handshake.ts';
import { summarizeSession } from './session-der.ts';

export type { TlsVersion } from './handshake.ts';

export interface ProbeOptions {
  host: string;
  port: number;
  /** Pin TLS 1.2 or 1.3; undefined lets the server pick. */
  tls: TlsVersion | undefined;
  /** Connections in total, the first included (s_client -reconnect makes 1 + 5). */
  count: number;
  /** SNI to send; undefined sends the host name when it is not an IP address. */
  servername: string | undefined;
  /** false: do not offer tickets (TLS 1.2 then tests session-id resumption only). */
  tickets: boolean;
  /** Print one JSON line instead of the table. */
  json: boolean;
  /** Per connection: connect start to handshake end. */
  timeoutMs: number;
  /** After a TLS 1.3 handshake, how long to wait for the server's ticket. */
  ticketWaitMs: number;
}

export const DEFAULT_PROBE_OPTIONS: Readonly<ProbeOptions> = Object.freeze({
  host: '127.0.0.1',
  port: 8443,
  tls: undefined,
  count: 6,
  servername: undefined,
  tickets: true,
  json: false,
  timeoutMs: 5000,
  ticketWaitMs: 1000
});

export interface ProbeTicket {
  length: number;
  /** First 16 bytes: the key name for OpenSSL-style stateless tickets (RFC 5077 §4). */
  keyName: string;
  lifetimeHintSeconds: number | undefined;
}

export interface ProbeConnection {
  n: number;
  ok: boolean;
  /** A session was offered on this connection. */
  offered: boolean;
  resumed: boolean;
  protocol: string | undefined;
  cipher: string | undefined;
  handshakeMs: number;
  /** Session id of the session this connection leaves for the next one (the offered one when no new came), hex. */
  sessionId: string | undefined;
  ticket: ProbeTicket | undefined;
  /** 'session' events seen (new sessions / NewSessionTicket messages). */
  sessionsReceived: number;
  error: string | undefined;
}

export interface ProbeResult {
  target: string;
  servername: string | undefined;
  tls: TlsVersion | undefined;
  tickets: boolean;
  connections: ProbeConnection[];
  reconnections: number;
  resumed: number;
  allResumed: boolean;
  notes: string[];
}

function failed (n: number, offered: boolean, outcome: HandshakeFailure): ProbeConnection {
  return {
    n, ok: false, offered, resumed: false, protocol: undefined, cipher: undefined,
    handshakeMs: outcome.elapsedMs, sessionId: undefined, ticket: undefined, sessionsReceived: 0,
    error: `${outcome.error}: ${outcome.message}`
  };
}

function succeeded (n: number, offered: boolean, outcome: HandshakeSuccess, after: SessionOutcome): ProbeConnection {
  const summary = summarizeSession(after.session);
  const ticket = summary.ticket === undefined || summary.ticket.length === 0
    ? undefined
    : {
        length: summary.ticket.length,
        keyName: summary.ticket.subarray(0, 16).toString('hex'),
        lifetimeHintSeconds: summary.ticketLifetimeHint
      };
  return {
    n, ok: true, offered, resumed: outcome.resumed, protocol: outcome.protocol, cipher: outcome.cipher,
    handshakeMs: outcome.handshakeMs,
    sessionId: summary.sessionId === undefined || summary.sessionId.length === 0 ? undefined : summary.sessionId.toString('hex'),
    ticket, sessionsReceived: after.sessionsReceived, error: undefined
  };
}

export async function probe (options: ProbeOptions): Promise<ProbeResult> {
  if (!Number.isInteger(options.count) || options.count < 1) throw new RangeError('count must be an integer >= 1');
  const connections: ProbeConnection[] = [];
  let session: Buffer | undefined;
  for (let n = 1; n <= options.count; n++) {
    const offered = session !== undefined;
    const outcome = await handshake({
      host: options.host, port: options.port, servername: options.servername, tls: options.tls,
      tickets: options.tickets, session, timeoutMs: options.timeoutMs, ticketWaitMs: options.ticketWaitMs, send: 0
    });
    if (!outcome.ok) {
      connections.push(failed(n, offered, outcome));
      continue;
    }
    const after = await outcome.finished;
    connections.push(succeeded(n, offered, outcome, after));
    // Like s_client -reconnect, keep the newest session: TLS 1.3 tickets may be single use.
    if (after.session !== undefined) session = after.session;
  }
  const reconnections = connections.slice(1);
  const resumed = reconnections.filter((c) => c.resumed).length;
  const notes: string[] = [];
  const sawTls13 = connections.some((c) => c.protocol === 'TLSv1.3');
  if (!options.tickets && sawTls13) {
    notes.push('TLS 1.3: a client cannot refuse tickets; the server chose stateless or stateful tickets (--no-tickets only affects TLS 1.2)');
  }
  if (connections.some((c) => c.ok && !c.resumed && c.sessionsReceived === 0 && c.protocol === 'TLSv1.3')) {
    notes.push('TLS 1.3: the server sent no ticket on some connections (tickets off and no stateful tickets?)');
  }
  return {
    target: `${options.host}:${options.port}`,
    servername: options.servername,
    tls: options.tls,
    tickets: options.tickets,
    connections,
    reconnections: reconnections.length,
    resumed,
    allResumed: resumed === reconnections.length && connections.every((c) => c.ok),
    notes
  };
}

function describeSession (c: ProbeConnection): string {
  if (c.error !== undefined) return c.error;
  if (c.ticket !== undefined) {
    const hint = c.ticket.lifetimeHintSeconds === undefined ? '' : ` hint ${c.ticket.lifetimeHintSeconds}s`;
    const kept = c.sessionsReceived === 0 && c.resumed ? ', offered one kept' : '';
    return `ticket ${c.ticket.length} B key ${c.ticket.keyName}${hint} (${c.sessionsReceived} received${kept})`;
  }
  if (c.sessionId !== undefined) return `session id ${c.sessionId}`;
  return 'no session';
}

export function formatProbe (result: ProbeResult): string[] {
  const lines = [
    `probe ${result.target}  sni=${result.servername ?? '(host)'}  tls=${result.tls ?? 'any'}  tickets=${result.tickets ? 'offered' : 'not offered'}`,
    '  #  result   protocol  cipher                         handshake  session'
  ];
  for (const c of result.connections) {
    const verdict = !c.ok ? 'error' : c.resumed ? 'resumed' : c.offered ? 'MISSED' : 'new';
    lines.push([
      String(c.n).padStart(3),
      verdict.padEnd(8),
      (c.protocol ?? '-').padEnd(9),
      (c.cipher ?? '-').padEnd(30),
      `${c.handshakeMs.toFixed(2)} ms`.padStart(10),
      describeSession(c)
    ].join(' '));
  }
  for (const note of result.notes) lines.push(`note: ${note}`);
  lines.push(`${result.resumed} of ${result.reconnections} reconnections resumed`);
  return lines;
}

/** The command: prints the table (or one JSON line) through `write`, exit 0 when every reconnection resumed. */
export async function runProbe (options: ProbeOptions, write: (line: string) => void): Promise<{ exitCode: number; result: ProbeResult }> {
  const result = await probe(options);
  if (options.json) write(JSON.stringify(result));
  else for (const line of formatProbe(result)) write(line);
  return { exitCode: result.allResumed ? 0 : 1, result };
}
