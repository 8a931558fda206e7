// Finds out which ticket key each backend server seals its tickets with, by being its
// client: one TLS handshake per server now and then, reading the key name (the first
// 16 bytes) of the ticket it hands out. A TLS 1.3 ticket travels encrypted, so a
// balancer that only watches clients learns a server's key name only after some client
// happened to resume there; with the probe, the first resumption of every client sticks.
// A key rotation on a backend is picked up at the next round.
import { connect as tcpConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { encodeProxyV2Local } from './proxy-protocol.ts';
import type { BackendPool, ServerState } from './pool.ts';

export interface TicketKeyProbeOptions {
  /** ms between rounds (0 = only when asked, and when a server comes back up). */
  interval: number;
  /** ms one probe may take, connect and handshake and ticket. */
  timeout: number;
  /** Send a PROXY v2 LOCAL header first (backends that require PROXY headers). */
  sendProxy: boolean;
}

export const DEFAULT_TICKET_KEY_PROBE_OPTIONS: TicketKeyProbeOptions = Object.freeze({
  interval: 60_000,
  timeout: 5000,
  sendProxy: false,
});

/** OpenSSL's stateful TLS 1.3 "ticket" is a session id of at most 32 bytes: no key name in it. */
const MAX_STATEFUL_TICKET = 32;
const KEY_NAME_BYTES = 16;

export type KeyNameListener = (server: ServerState, keyName: Buffer) => void;

/** One handshake to `server`; resolves with its ticket key name, or undefined (no ticket, stateful, failure). */
export function probeTicketKeyName (server: ServerState, timeout: number, sendProxy: boolean): Promise<Buffer | undefined> {
  const { host, port } = server.config.address;
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port, noDelay: true });
    let done = false;
    const finish = (keyName: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      tls?.destroy();
      socket.destroy();
      resolve(keyName);
    };
    const timer = setTimeout(() => finish(undefined), timeout);
    let tls: ReturnType<typeof tlsConnect> | undefined;
    socket.on('error', () => finish(undefined));
    socket.once('connect', () => {
      if (sendProxy) socket.write(encodeProxyV2Local());
      const servername = server.config.tls?.servername ?? (isIP(host) ? undefined : host);
      // Nothing is sent or trusted on this connection; only the ticket's first bytes are read.
      tls = tlsConnect({ socket, servername, rejectUnauthorized: false });
      tls.on('error', () => finish(undefined));
      tls.on('session', () => {
        // getTLSTicket() gives null, not undefined, when the session holds no ticket.
        const ticket = tls?.getTLSTicket() as Buffer | null | undefined;
        if (ticket && ticket.length > MAX_STATEFUL_TICKET) finish(Buffer.from(ticket.subarray(0, KEY_NAME_BYTES)));
        else finish(undefined);
      });
      // A server that issues no ticket closes or idles: the timer or the close ends it.
      tls.once('close', () => finish(undefined));
    });
  });
}

export class TicketKeyProbe {
  #pools: readonly BackendPool[];
  #options: TicketKeyProbeOptions;
  #onKeyName: KeyNameListener;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #onState = (change: { server: ServerState; up: boolean }): void => {
    if (change.up) void this.#probe(change.server);
  };

  constructor (pools: readonly BackendPool[], onKeyName: KeyNameListener, options: Partial<TicketKeyProbeOptions> = {}) {
    this.#pools = pools;
    this.#onKeyName = onKeyName;
    this.#options = { ...DEFAULT_TICKET_KEY_PROBE_OPTIONS, ...options };
  }

  start (): void {
    if (this.#running) return;
    this.#running = true;
    for (const pool of this.#pools) pool.on('state', this.#onState);
    void this.probeAll();
    if (this.#options.interval > 0) {
      this.#timer = setInterval(() => void this.probeAll(), this.#options.interval);
      this.#timer.unref();
    }
  }

  stop (): void {
    this.#running = false;
    clearInterval(this.#timer);
    for (const pool of this.#pools) pool.off('state', this.#onState);
  }

  /** One round over every server that is up; resolves with how many key names were found. */
  async probeAll (): Promise<number> {
    const servers = this.#pools.flatMap((p) => p.servers().filter((s) => s.up));
    const found = await Promise.all(servers.map((s) => this.#probe(s)));
    return found.filter(Boolean).length;
  }

  async #probe (server: ServerState): Promise<boolean> {
    const keyName = await probeTicketKeyName(server, this.#options.timeout, this.#options.sendProxy);
    if (keyName === undefined) return false;
    this.#onKeyName(server, keyName);
    return true;
  }
}
