// A `mode: terminate` frontend: accepts TCP, reads the ClientHello itself (the PSK
// identity for stateful TLS 1.3 resumption, the ticket key name, the SNI), hands the
// socket to TLS with the SecureContext those pick, then splices the plaintext to a
// backend server. One bad connection never takes more than itself down.
import type { TLSSocket } from 'node:tls';
import { acceptConnection, type Connection } from './connection.ts';
import { FrontendListener, type Admitted } from './listener.ts';
import type { BackendPool } from '../balancer/pool.ts';
import { backendForSni } from './sni-routing.ts';
import { forward } from './forward.ts';
import type { FrontendConfig, TicketsConfig } from '../config/types.ts';
import { channels } from '../diagnostics.ts';
import type { SessionStore } from '../session-cache/store.ts';
import { CertificateSelector, type LoadedCertificate } from '../tls/certificates.ts';
import { ContextPool } from '../tls/contexts.ts';
import { describeOffer, offerOf, outcomeOf } from '../tls/resumption.ts';
import { onHandshakeError, releaseControl, serverSocket } from '../tls/node-tls.ts';
import { SessionHooks, type SessionPolicy } from '../tls/session-hooks.ts';
import type { TicketKeySource } from '../tls/ticket-key.ts';

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

  listen (fd?: number): Promise<number> { return this.#listener.listen(fd); }
  close (drain: number): Promise<void> { return this.#listener.close(drain); }
  get connections (): number { return this.#listener.connections; }

  #accept (admitted: Admitted): void {
    const f = this.frontend;
    acceptConnection(this.#listener, admitted, `handshake not done within ${f.timeout.handshake} ms`, (c, hello, bytes) => {
      const sni = hello.serverName ?? '';
      const offer = offerOf(hello, f.max_version);
      const choice = this.#contexts.choose(this.#selector.select(sni), offer.kind === 'ticket' ? offer.keyName : undefined);
      const lookupKey = offer.kind === 'id' || offer.kind === 'stateful_ticket' ? offer.key : undefined;
      const hooks = new SessionHooks(this.#policy, sni, c.address, lookupKey, offer.kind === 'stateful_ticket');
      c.raw.unshift(bytes);
      let socket: TLSSocket;
      try {
        socket = serverSocket(c.raw, { secureContext: choice.context, ALPNProtocols: f.alpn.length > 0 ? f.alpn : undefined, session: hooks });
      } catch (err) {
        c.fail('handshake', (err as Error).message);
        return;
      }
      c.wrap(socket);
      hooks.socket = socket;
      const stopListening = onHandshakeError(socket, (err) => c.fail('handshake', err.message));
      const closed = (): void => c.fail('handshake', 'client closed the connection during the handshake');
      socket.once('close', closed);
      // The listener allows half-open connections (for proxying), so a client that leaves
      // mid-handshake (a TLS 1.3 client closing before its Finished went out) brings
      // 'end' and never 'close': without this it would hold its slot until the timeout.
      socket.once('end', closed);
      socket.once('secure', () => {
        if (!c.settle()) return;
        releaseControl(socket);
        stopListening();
        const resumed = socket.isSessionReused();
        const result = outcomeOf(offer, resumed, hooks.miss, choice.knownKey);
        const cipher = socket.getCipher();
        c.publish({
          sni, version: socket.getProtocol() ?? '', cipher: cipher?.standardName ?? cipher?.name ?? '',
          alpn: socket.alpnProtocol || '', resumed, method: result.method, miss: result.miss,
          offered: result.miss ? describeOffer(offer) : undefined,
        });
        this.#forward(socket, c, sni);
      });
    });
  }

  #forward (socket: TLSSocket, c: Connection, sni: string): void {
    const f = this.frontend;
    const pool = this.#options.pools.get(backendForSni(f, sni || undefined));
    if (!pool) { c.error('backend', 'no backend'); socket.destroy(); return; }
    socket.on('error', () => {});
    forward(socket, pool, {
      clientAddress: c.address, connectTimeout: f.timeout.connect, answerTimeout: f.timeout.server,
      clientTimeout: f.timeout.client, serverTimeout: Math.max(f.timeout.client, f.timeout.server),
      preamble: () => f.send_proxy === 'v2'
        ? c.proxyHeader({ alpn: socket.alpnProtocol || undefined, authority: sni || undefined, ssl: { version: socket.getProtocol() ?? '' } })
        : undefined,
    }, (end) => {
      if (end.stage) c.error(end.stage, end.error ?? 'failed');
    });
  }
}
