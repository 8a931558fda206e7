// What every frontend mode does before its own work: listen (on this thread's copy of the
// process's listening socket, or, without the addon, on a SO_REUSEPORT socket of its own
// that shares the port with the other threads; runtime/listeners.ts), admit or refuse a
// connection (allow/deny, per-client connection budget) before any TLS byte is read,
// track the open connections for a graceful close, and publish why a connection ended.
import { createServer, type Server, type Socket } from 'node:net';
import type { FrontendConfig } from '../config/types.ts';
import { channels, type ConnectionErrorEvent } from '../diagnostics.ts';
import { ClientBudgets, isAllowed } from './access.ts';

export interface Admitted {
  raw: Socket;
  /** The client's IP address, and `address:port` for logs. */
  address: string;
  client: string;
  /**
   * Hands the connection's slot to the socket that now wraps `raw` (TLS): from then on
   * that socket's close frees it, and a graceful close destroys that socket only.
   */
  adopt (socket: Socket): void;
}

export type ErrorStage = ConnectionErrorEvent['stage'];

export class FrontendListener {
  readonly frontend: FrontendConfig;
  readonly budgets: ClientBudgets;
  #server: Server;
  #sockets = new Set<Socket>();

  constructor (frontend: FrontendConfig, onConnection: (connection: Admitted) => void, newSessionsPerSecond = 0) {
    this.frontend = frontend;
    this.budgets = new ClientBudgets(frontend.limits.per_client_connections, newSessionsPerSecond);
    this.#server = createServer({ allowHalfOpen: true, keepAlive: frontend.keepalive, keepAliveInitialDelay: frontend.keepalive_delay, noDelay: true },
      (raw) => { const admitted = this.#admit(raw); if (admitted) onConnection(admitted); });
    this.#server.maxConnections = frontend.limits.max_connections || Infinity;
    // Node closes connections beyond maxConnections itself; log them like every other refusal.
    this.#server.on('drop', (data) => this.error(`${data?.remoteAddress ?? ''}:${data?.remotePort ?? ''}`, 'limit',
      `more than ${frontend.limits.max_connections} concurrent connections on this frontend`));
  }

  /**
   * Resolves with the bound port once listening: on `fd`, a listening descriptor this
   * server then owns (closing the server closes it), else on a socket of its own.
   */
  listen (fd?: number): Promise<number> {
    const { host, port } = this.frontend.bind;
    const backlog = this.frontend.backlog;
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(fd === undefined ? { host, port, reusePort: true, backlog } : { fd, backlog }, () => {
        this.#server.removeListener('error', reject);
        resolve((this.#server.address() as { port: number }).port);
      });
    });
  }

  get connections (): number { return this.#sockets.size; }

  /** Stops accepting; open connections go on until they end or `drain` ms elapse. */
  close (drain: number): Promise<void> {
    return new Promise((resolve) => {
      // Each connection still open at the deadline is cut, and said so (stage `shutdown`).
      const timer = setTimeout(() => {
        for (const s of this.#sockets) {
          this.error(`${s.remoteAddress ?? ''}:${s.remotePort ?? ''}`, 'shutdown', `still open after shutdown_timeout (${drain} ms): cut`);
          s.destroy();
        }
      }, drain);
      timer.unref();
      this.#server.close(() => { clearTimeout(timer); resolve(); });
      if (this.#sockets.size === 0) clearTimeout(timer);
    });
  }

  error (client: string, stage: ErrorStage, reason: string): void {
    if (channels.connectionError.hasSubscribers) channels.connectionError.publish({ frontend: this.frontend.name, client, stage, reason });
  }

  #admit (raw: Socket): Admitted | undefined {
    const f = this.frontend;
    const address = raw.remoteAddress ?? '';
    const client = `${address}:${raw.remotePort}`;
    raw.on('error', () => {});
    if (!isAllowed(f, address)) {
      this.error(client, 'access', 'address not allowed on this frontend');
      raw.destroy();
      return undefined;
    }
    if (!this.budgets.acquireConnection(address)) {
      this.error(client, 'limit', `more than ${f.limits.per_client_connections} concurrent connections from ${address}`);
      raw.destroy();
      return undefined;
    }
    let current: Socket = raw;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#sockets.delete(current);
      this.budgets.releaseConnection(address);
    };
    this.#sockets.add(raw);
    raw.once('close', () => { if (current === raw) release(); });
    return {
      raw, address, client,
      adopt: (socket) => {
        this.#sockets.delete(raw);
        this.#sockets.add(socket);
        current = socket;
        socket.once('close', release);
      },
    };
  }
}
