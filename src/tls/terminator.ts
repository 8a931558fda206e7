// A `mode: terminate` frontend: accepts TCP, reads the ClientHello itself (the PSK
// identity for stateful TLS 1.3 resumption, the ticket key name, the SNI), hands the
// socket to TLS with the SecureContext those pick, then splices the plaintext to a
// backend server. One bad connection never takes more than itself down.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { FrontendListener, type Admitted, type ErrorStage } from '../balancer/frontend-listener.ts';
import type { BackendPool } from '../balancer/pool.ts';
import { proxyV2For } from '../balancer/proxy-protocol.ts';
import { backendForSni } from '../balancer/sni-routing.ts';
import { forward } from '../balancer/forward.ts';
import type { FrontendConfig, TicketsConfig } from '../config/types.ts';
import { channels, type HandshakeEvent } from '../diagnostics.ts';
import type { SessionStore } from '../session-cache/store.ts';
import { CertificateSelector, type LoadedCertificate } from './certificates.ts';
import { ContextPool } from './contexts.ts';
import { readClientHello } from './hello-reader.ts';
import { describeOffer, offerOf, outcomeOf } from './resumption.ts';
import { SessionHooks, type SessionPolicy } from './session-hooks.ts';
import type { TicketKeySource } from './ticket-key.ts';

export interface TerminatorOptions {
  frontend: FrontendConfig;
  certificates: readonly LoadedCertificate[];
  store: SessionStore;
  keys: TicketKeySource;
  tickets: TicketsConfig;
  lifetime: number;
  pools: ReadonlyMap<string, BackendPool>;
}

export class Terminator {
  readonly frontend: FrontendConfig;
  #options: TerminatorOptions;
  #selector: CertificateSelector;
  #contexts: ContextPool;
  #policy: SessionPolicy;
  #listener: FrontendListener;

  constructor (options: TerminatorOptions) {
    const f = options.frontend;
    this.frontend = f;
    this.#options = options;
    this.#selector = new CertificateSelector(options.certificates);
    this.#contexts = new ContextPool(f, options.certificates, options.tickets, options.lifetime, options.keys);
    this.#listener = new FrontendListener(f, (c) => this.#accept(c), f.limits.per_client_new_sessions);
    this.#policy = {
      store: options.store,
      frontend: f.name,
      lifetime: options.lifetime,
      ticketsEnabled: options.tickets.enabled,
      admitNewSession: (client) => this.#listener.budgets.admitNewSession(client),
      onStored: (client, stored, reason) => {
        if (channels.sessionStored.hasSubscribers) channels.sessionStored.publish({ frontend: f.name, client, stored, reason });
      },
    };
  }

  listen (): Promise<number> { return this.#listener.listen(); }
  close (drain: number): Promise<void> { return this.#listener.close(drain); }
  get connections (): number { return this.#listener.connections; }

  #accept ({ raw, address, client, adopt }: Admitted): void {
    const f = this.frontend;
    const started = performance.now();
    let settled = false;
    let tls: TLSSocket | undefined;
    const fail = (stage: ErrorStage, reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#listener.error(client, stage, reason);
      // Only the outermost socket: destroying a raw socket and then the TLSSocket over it
      // crashes Node 24 (nodejs/node#49327).
      (tls ?? raw).destroy();
    };
    const timer = setTimeout(() => fail('timeout', `handshake not done within ${f.timeout.handshake} ms`), f.timeout.handshake);

    readClientHello(raw, { maxBytes: f.limits.max_client_hello, maxRecords: f.limits.max_client_hello_records }, (outcome) => {
      if (!outcome.ok) { fail('client_hello', outcome.reason); return; }
      if (settled) return;
      const { hello } = outcome;
      const sni = hello.serverName ?? '';
      const offer = offerOf(hello, f.max_version);
      const choice = this.#contexts.choose(this.#selector.select(sni), offer.kind === 'ticket' ? offer.keyName : undefined);
      const lookupKey = offer.kind === 'id' || offer.kind === 'stateful_ticket' ? offer.key : undefined;
      const hooks = new SessionHooks(this.#policy, sni, address, lookupKey);
      raw.unshift(outcome.bytes);
      try {
        tls = new TLSSocket(raw, {
          isServer: true,
          // Only used by Node to emit newSession/resumeSession: see session-hooks.ts.
          server: hooks as unknown as import('node:tls').Server,
          secureContext: choice.context,
          ALPNProtocols: f.alpn.length > 0 ? f.alpn : undefined,
        });
      } catch (err) {
        fail('handshake', (err as Error).message);
        return;
      }
      const socket = tls;
      hooks.socket = socket;
      adopt(socket);
      const onError = (err: Error): void => fail('handshake', err.message);
      socket.on('_tlsError', onError);
      socket.on('error', onError);
      socket.once('close', () => fail('handshake', 'client closed the connection during the handshake'));
      // The listener allows half-open connections (for proxying), so a client that leaves
      // mid-handshake (a TLS 1.3 client closing before its Finished went out) brings
      // 'end' and never 'close': without this it would hold its slot until the timeout.
      socket.once('end', () => fail('handshake', 'client closed the connection during the handshake'));
      socket.once('secure', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        (socket as unknown as { _releaseControl (): void })._releaseControl();
        socket.removeListener('_tlsError', onError);
        socket.removeListener('error', onError);
        const resumed = socket.isSessionReused();
        const result = outcomeOf(offer, resumed, hooks.miss, choice.knownKey);
        if (channels.handshake.hasSubscribers) {
          const cipher = socket.getCipher();
          const event: HandshakeEvent = {
            frontend: f.name, client, sni, version: socket.getProtocol() ?? '', cipher: cipher?.standardName ?? cipher?.name ?? '',
            alpn: socket.alpnProtocol || '', resumed, method: result.method, miss: result.miss,
            offered: result.miss ? describeOffer(offer) : undefined, duration: performance.now() - started,
          };
          channels.handshake.publish(event);
        }
        this.#forward(socket, raw, address, client, sni);
      });
    });
  }

  #forward (socket: TLSSocket, raw: Socket, address: string, client: string, sni: string): void {
    const f = this.frontend;
    const pool = this.#options.pools.get(backendForSni(f, sni || undefined));
    if (!pool) { this.#listener.error(client, 'backend', 'no backend'); socket.destroy(); return; }
    socket.on('error', () => {});
    forward(socket, pool, {
      clientAddress: address, connectTimeout: f.timeout.connect, answerTimeout: f.timeout.server,
      clientTimeout: f.timeout.client, serverTimeout: Math.max(f.timeout.client, f.timeout.server),
      preamble: () => f.send_proxy === 'v2'
        ? proxyV2For(raw, { alpn: socket.alpnProtocol || undefined, authority: sni || undefined, ssl: { version: socket.getProtocol() ?? '' } })
        : undefined,
    }, (end) => {
      if (end.stage) this.#listener.error(client, end.stage, end.error ?? 'failed');
    });
  }
}
