// The skeleton every accepted connection goes through in both modes, from accept until
// the mode hands it over to the splice: one timer for the whole handshake, one `fail`
// that logs why and closes (after a TLS alert when the ClientHello is refused), reading
// the ClientHello, the PROXY header for the backend, and publishing the handshake.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeProxyV2, type ProxyTlvs } from '../balancer/proxy-protocol.ts';
import type { FrontendConfig } from '../config/types.ts';
import { channels, type HandshakeEvent } from '../diagnostics.ts';
import type { AlertCode } from '../tls/alerts.ts';
import type { ClientHello } from '../tls/client-hello.ts';
import { readClientHello } from '../tls/hello-reader.ts';
import type { HelloLimits } from '../tls/records.ts';
import type { Admitted, ErrorStage, FrontendListener } from './listener.ts';
import { DEFAULT_REFUSE_OPTIONS, refuseWithAlert } from './refuse.ts';

export type Handshake = Omit<HandshakeEvent, 'frontend' | 'client' | 'duration'>;

/** How much of a hello (client's or server's) a frontend reads before giving up on it. */
export function helloLimits (f: FrontendConfig): HelloLimits {
  return { maxBytes: f.limits.max_client_hello, maxRecords: f.limits.max_client_hello_records };
}

export class Connection {
  readonly raw: Socket;
  readonly address: string;
  readonly client: string;
  readonly started = performance.now();
  #listener: FrontendListener;
  #adopt: (socket: Socket) => void;
  #outer: Socket;
  #settled = false;
  #timer: NodeJS.Timeout;

  constructor (listener: FrontendListener, admitted: Admitted, timeoutReason: string) {
    this.#listener = listener;
    this.raw = admitted.raw;
    this.address = admitted.address;
    this.client = admitted.client;
    this.#adopt = admitted.adopt;
    this.#outer = admitted.raw;
    this.#timer = setTimeout(() => this.fail('timeout', timeoutReason), listener.frontend.timeout.handshake);
  }

  /** True once the handshake phase ended, by `settle` or `fail`. */
  get settled (): boolean { return this.#settled; }

  /**
   * The socket now wrapping `raw` (TLS): it holds the connection's slot in the listener
   * from now on, and `fail` destroys it instead of `raw` (destroying a raw socket and
   * then the TLSSocket over it crashes Node 24, nodejs/node#49327).
   */
  wrap (socket: Socket): void {
    this.#outer = socket;
    this.#adopt(socket);
  }

  /** Ends the handshake phase; false when it had already ended. */
  settle (): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    clearTimeout(this.#timer);
    return true;
  }

  /**
   * Logs why and closes; with `alert`, the client is told first. Only while nothing else
   * writes to the client: once TLS wraps the socket, its own layer answers.
   */
  fail (stage: ErrorStage, reason: string, alert?: AlertCode): void {
    if (!this.settle()) return;
    this.#listener.error(this.client, stage, reason);
    if (alert !== undefined && this.#outer === this.raw) {
      refuseWithAlert(this.raw, alert, { lingerMs: Math.min(DEFAULT_REFUSE_OPTIONS.lingerMs, this.#listener.frontend.timeout.handshake) });
    } else this.#outer.destroy();
  }

  /** A failure after the handshake phase (backend, proxy): logged, the connection already on its way down. */
  error (stage: ErrorStage, reason: string): void {
    this.#listener.error(this.client, stage, reason);
  }

  /** The PROXY v2 header for this connection (`send_proxy`): the client's two ends, and the TLVs given. */
  proxyHeader (tlvs: ProxyTlvs = {}): Buffer {
    const raw = this.raw;
    return encodeProxyV2({
      source: { address: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 },
      destination: { address: raw.localAddress ?? '', port: raw.localPort ?? 0 },
      ...tlvs,
    });
  }

  publish (handshake: Handshake): void {
    if (!channels.handshake.hasSubscribers) return;
    const event: HandshakeEvent = { frontend: this.#listener.frontend.name, client: this.client, ...handshake, duration: performance.now() - this.started };
    channels.handshake.publish(event);
  }
}

/**
 * Starts the skeleton for an admitted connection and calls `onHello` with its parsed
 * ClientHello and every byte read so far, unless it failed first.
 */
export function acceptConnection (listener: FrontendListener, admitted: Admitted, timeoutReason: string,
  onHello: (c: Connection, hello: ClientHello, bytes: Buffer) => void): void {
  const c = new Connection(listener, admitted, timeoutReason);
  readClientHello(c.raw, helloLimits(listener.frontend), (outcome) => {
    if (!outcome.ok) { c.fail('client_hello', outcome.reason, outcome.alert); return; }
    if (c.settled) return;
    onHello(c, outcome.hello, outcome.bytes);
  });
}
