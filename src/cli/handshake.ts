// One client TLS connection as the probe and the bench see it: connect, offer a saved
// session, time the handshake, collect the sessions the server hands out, optionally
// exchange a few bytes, close. Shared so both tools resume the same way.

import { constants as cryptoConstants } from 'node:crypto';
import tls from 'node:tls';
import type { ConnectionOptions, SecureContext, SecureContextOptions, TLSSocket } from 'node:tls';

export type TlsVersion = '1.2' | '1.3';

export interface HandshakeOptions {
  host: string;
  port: number;
  /** SNI; undefined lets Node send the host name (never an IP address). */
  servername: string | undefined;
  /** Pin the protocol version; undefined offers TLS 1.2 and 1.3. */
  tls: TlsVersion | undefined;
  /** false: do not ask for tickets (TLS 1.2 then resumes only by session id). */
  tickets: boolean;
  /** A serialized session to offer, from an earlier outcome. */
  session: Buffer | undefined;
  /** Connect start to handshake end, and again for the optional response. */
  timeoutMs: number;
  /** How long to wait after a full TLS 1.3 handshake for a ticket (less after a resumed one); 0 skips the wait. */
  ticketWaitMs: number;
  /** Bytes to write after the handshake, then read one answer chunk (or the close). */
  send: number;
  /** Source address to connect from (the bench spreads loopback clients over 127.0.0.0/8). */
  localAddress?: string;
  /** Key-exchange groups to offer (OpenSSL names joined by ':'); undefined = Node's default list. */
  group?: string;
  /** A context made once by `clientContext` for many connections; without it each connection builds its own. */
  secureContext?: SecureContext;
}

export interface HandshakeSuccess {
  ok: true;
  handshakeMs: number;
  resumed: boolean;
  protocol: string;
  cipher: string;
  /** Key-exchange group of the handshake (`X25519`, `X25519MLKEM768`...), `none` without one. */
  group: string;
  /** Settles once the --send exchange is over (at once when `send` is 0). */
  exchange: Promise<ExchangeOutcome>;
  /** Settles after the exchange and the TLS 1.3 ticket wait, with the socket closing. */
  finished: Promise<SessionOutcome>;
}

export interface ExchangeOutcome {
  responseBytes: number;
  /** Set when the handshake worked but the --send exchange did not. */
  responseError: string | undefined;
}

export interface SessionOutcome {
  /** The session to offer next time (the offered one when no new one came), if any. */
  session: Buffer | undefined;
  /** 'session' events: TLS 1.2 new sessions and TLS 1.3 NewSessionTicket messages. */
  sessionsReceived: number;
}

export interface HandshakeFailure {
  ok: false;
  /** A short stable kind: an errno code, an OpenSSL alert code, or `timeout`. */
  error: string;
  message: string;
  elapsedMs: number;
}

export type HandshakeOutcome = HandshakeSuccess | HandshakeFailure;

const CLOSE_GRACE_MS = 1000;
// Covers a busy server's scheduling delay on loopback, where round trips are microseconds.
const RESUMED_TICKET_WAIT_FLOOR_MS = 10;

/** What belongs to the client's SSL_CTX: version, ticket extension, groups. */
export function contextOptions (options: Pick<HandshakeOptions, 'tls' | 'tickets' | 'group'>): SecureContextOptions {
  const version = options.tls === undefined ? undefined : (`TLSv${options.tls}` as const);
  return {
    ...(version === undefined ? {} : { minVersion: version, maxVersion: version }),
    // Without the ticket extension a TLS 1.2 server can only resume by session id.
    // TLS 1.3 has no such switch on the client: the server decides stateless or stateful.
    ...(options.tickets ? {} : { secureOptions: cryptoConstants.SSL_OP_NO_TICKET }),
    // Node 24 offers X25519MLKEM768 first; pinning X25519 compares servers whose OpenSSL
    // predates the hybrid group on equal terms.
    ...(options.group === undefined ? {} : { ecdhCurve: options.group })
  };
}

/**
 * One context for many connections: building an SSL_CTX per connection (what
 * tls.connect does without one) costs the load generator more than the handshake's
 * own crypto, and the load generator's speed bounds the rates the bench can offer.
 */
export function clientContext (options: Pick<HandshakeOptions, 'tls' | 'tickets' | 'group'>): SecureContext {
  return tls.createSecureContext(contextOptions(options));
}

export function connectOptions (options: HandshakeOptions): ConnectionOptions {
  return {
    host: options.host,
    port: options.port,
    ...(options.servername === undefined ? {} : { servername: options.servername }),
    // A diagnostics tool talks to test and self-signed servers; verification is not its question.
    rejectUnauthorized: false,
    ...(options.secureContext === undefined ? contextOptions(options) : { secureContext: options.secureContext }),
    ...(options.session === undefined ? {} : { session: options.session }),
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress })
  };
}

function groupOf (socket: TLSSocket): string {
  const info = socket.getEphemeralKeyInfo() as { name?: string; type?: string } | null;
  const name = info?.name ?? info?.type ?? 'none';
  // Node names the group `x25519` in TLS 1.2 and `X25519` in TLS 1.3.
  return name === 'x25519' ? 'X25519' : name;
}

export function errorKind (error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'unknown';
}

function closeGently (socket: TLSSocket): void {
  if (socket.destroyed) return;
  // end() sends close_notify; a server that never answers with its own close is cut off.
  socket.end();
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

function payload (bytes: number): Buffer {
  // Ends with a blank line so line-oriented servers (openssl s_server -www, HTTP) answer.
  const data = Buffer.alloc(bytes, 'x');
  if (bytes >= 4) data.write('\r\n\r\n', bytes - 4);
  return data;
}

/** Waits for `ready()` to hold, re-checked on each event, bounded by `ms`. */
function waitFor (socket: TLSSocket, events: string[], ready: () => boolean, ms: number): Promise<boolean> {
  if (ready()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      for (const event of events) socket.off(event, check);
      socket.off('close', finishFalse);
      socket.off('error', finishFalse);
      resolve(ready());
    };
    const finishFalse = (): void => finish();
    const check = (): void => { if (ready()) finish(); };
    const timer = setTimeout(finish, ms);
    for (const event of events) socket.on(event, check);
    socket.once('close', finishFalse);
    socket.once('error', finishFalse);
  });
}

export function handshake (options: HandshakeOptions): Promise<HandshakeOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    let latest: Buffer | undefined;
    let sessionsReceived = 0;
    let settled = false;
    const socket = tls.connect(connectOptions(options));
    // Handshake flights are small writes that wait on each other; Nagle plus delayed
    // ACKs would add tens of milliseconds to some of them and measure the kernel.
    socket.setNoDelay(true);
    socket.on('session', (session: Buffer) => { latest = session; sessionsReceived++; });

    const fail = (error: string, message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: false, error, message, elapsedMs: performance.now() - started });
    };
    const timer = setTimeout(() => fail('timeout', `no handshake within ${options.timeoutMs} ms`), options.timeoutMs);
    socket.on('error', (error) => fail(errorKind(error), error.message));
    socket.once('close', () => fail('ECONNRESET', 'connection closed before the handshake completed'));

    socket.once('secureConnect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const handshakeMs = performance.now() - started;
      const resumed = socket.isSessionReused();
      const protocol = socket.getProtocol() ?? 'unknown';
      const exchange = exchangeBytes(socket, options);
      // Node emits a TLS 1.2 'session' right after 'secureConnect' returns, so this
      // reads the counters only after a turn of the loop.
      const finished = exchange.then(() => awaitSession(socket, options, protocol, handshakeMs, resumed, () => latest, () => sessionsReceived));
      resolve({
        ok: true, handshakeMs, resumed,
        protocol,
        cipher: socket.getCipher()?.standardName ?? 'unknown',
        group: groupOf(socket),
        exchange, finished
      });
    });
  });
}

async function exchangeBytes (socket: TLSSocket, options: HandshakeOptions): Promise<ExchangeOutcome> {
  if (options.send === 0) {
    // Keep the stream flowing so TLS 1.3 tickets are read even when nobody reads data.
    socket.resume();
    await Promise.resolve();
    return { responseBytes: 0, responseError: undefined };
  }
  let responseBytes = 0;
  let closed = false;
  const onData = (chunk: Buffer): void => { responseBytes += chunk.length; };
  socket.on('data', onData);
  socket.once('end', () => { closed = true; });
  socket.write(payload(options.send));
  const answered = await waitFor(socket, ['data', 'end'], () => responseBytes > 0 || closed, options.timeoutMs);
  socket.off('data', onData);
  socket.resume();
  const responseError = answered ? undefined : socket.destroyed ? 'response-closed' : 'response-timeout';
  return { responseBytes, responseError };
}

async function awaitSession (
  socket: TLSSocket, options: HandshakeOptions, protocol: string, handshakeMs: number, resumed: boolean,
  latest: () => Buffer | undefined, received: () => number
): Promise<SessionOutcome> {
  // TLS 1.3 sessions come after the handshake, in NewSessionTicket messages, about one
  // round trip after 'secureConnect'. After a full handshake a server that issues tickets
  // always sends one, so wait the full ticketWaitMs. After a resumption many servers
  // (Node's among them) send none, and the offered ticket stays valid; waiting as long
  // as the handshake took (two round trips or more) is enough to catch a fresh one.
  const ticketWait = resumed
    ? Math.min(options.ticketWaitMs, Math.max(RESUMED_TICKET_WAIT_FLOOR_MS, handshakeMs))
    : options.ticketWaitMs;
  if (protocol === 'TLSv1.3' && ticketWait > 0 && received() === 0) {
    await waitFor(socket, ['session'], () => received() > 0, ticketWait);
    // OpenSSL sends two tickets back to back; give the second one a turn of the loop.
    if (received() > 0) await new Promise((resolve) => setImmediate(resolve));
  }
  // No 'session' event after a TLS 1.2 resumption by id, nor after a TLS 1.3 resumption
  // without a fresh ticket: the session offered is still the one to offer next time.
  const fallback = resumed ? options.session : protocol === 'TLSv1.3' ? undefined : socket.getSession();
  const session = latest() ?? fallback;
  closeGently(socket);
  return { session, sessionsReceived: received() };
}
