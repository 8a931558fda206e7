// TLS to backend servers (`servers[].tls`, mode terminate) that resumes its own sessions,
// as HAProxy does by default with `ssl` on a server line: the last session each server
// gave is kept in a SessionStore shared by every worker thread (keyed by backend and
// server, value = the serialized session Node's 'session' event hands out, TLS 1.2 ids
// and tickets and TLS 1.3 tickets alike), and offered on the next connection. A server
// that declines it costs one full handshake and the new session replaces the old one.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ServerConfig } from '../config/types.ts';
import { channels, type BackendHandshakeEvent } from '../diagnostics.ts';
import type { SessionStore } from '../session-cache/store.ts';

export interface BackendTlsOptions {
  /** One entry per TLS server; values are sessions of 0.5 to 2 KB (the peer certificate is in them): size the store's maxEntryBytes for that. */
  store: SessionStore;
  /** ms a session is kept when the server gives no shorter lifetime (the server's own ticket lifetime still rules). */
  lifetime: number;
  /** ms the handshake may take before it fails. */
  timeout: number;
}

export const DEFAULT_BACKEND_TLS_OPTIONS = Object.freeze({
  lifetime: 300_000,
  timeout: 5000,
});

export interface BackendTlsTarget {
  backend: string;
  server: ServerConfig;
}

/** A snapshot of this thread's backend handshakes. */
export interface BackendTlsStats {
  full: number;
  resumed: number;
  /** A session was offered and the server declined it (expired, restarted, rotated its keys). */
  declined: number;
  stored: number;
  failed: number;
}

/** Store keys stay under 64 bytes whatever the names. */
function sessionKey (target: BackendTlsTarget): Buffer {
  const text = `c:${target.backend}/${target.server.name}`;
  const raw = Buffer.from(text, 'utf8');
  return raw.length <= 64 ? raw : Buffer.concat([Buffer.from('c#', 'latin1'), createHash('sha256').update(raw).digest()]);
}

export class BackendTls {
  #options: BackendTlsOptions;
  #ca = new Map<string, Buffer>();
  #stats: BackendTlsStats = { full: 0, resumed: 0, declined: 0, stored: 0, failed: 0 };

  constructor (options: Pick<BackendTlsOptions, 'store'> & Partial<BackendTlsOptions>) {
    this.#options = { ...DEFAULT_BACKEND_TLS_OPTIONS, ...options };
  }

  /**
   * Runs the TLS handshake over `socket` (a connected TCP socket to `target.server`),
   * offering the server's last session; resolves with the TLS socket once secure, or
   * rejects (and destroys both) on failure or after `timeout` ms (default: the option).
   */
  async connect (socket: Socket, target: BackendTlsTarget, timeout = this.#options.timeout): Promise<TLSSocket> {
    const tls = target.server.tls;
    if (!tls) throw new TypeError(`server ${target.server.name} has no tls settings`);
    const key = sessionKey(target);
    const cached = await this.#options.store.get(key).catch(() => undefined);
    const session = cached?.value;
    const host = target.server.address.host;
    const servername = tls.servername ?? (isIP(host) ? undefined : host);
    let ca: Buffer | undefined;
    try {
      ca = tls.ca ? this.#readCa(tls.ca) : undefined;
    } catch (err) {
      this.#stats.failed++;
      socket.destroy();
      throw err;
    }
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const secure = tlsConnect({ socket, servername, ca, rejectUnauthorized: tls.verify, session });
      const fail = (err: Error): void => {
        clearTimeout(timer);
        this.#stats.failed++;
        secure.destroy();
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`TLS handshake with ${target.server.name} not done within ${timeout} ms`)), timeout);
      // TLS 1.3 tickets arrive after the handshake, while the connection is in use: keep listening.
      secure.on('session', (data: Buffer) => {
        this.#options.store.set(key, data, this.#options.lifetime).then((ok) => { if (ok) this.#stats.stored++; }, () => {});
      });
      secure.once('error', fail);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.removeListener('error', fail);
        const resumed = secure.isSessionReused();
        if (resumed) this.#stats.resumed++;
        else this.#stats.full++;
        if (session !== undefined && !resumed) this.#stats.declined++;
        if (channels.backendHandshake.hasSubscribers) {
          const event: BackendHandshakeEvent = {
            backend: target.backend, server: target.server.name, offered: session !== undefined, resumed,
            version: secure.getProtocol() ?? '', duration: performance.now() - started,
          };
          channels.backendHandshake.publish(event);
        }
        resolve(secure);
      });
    });
  }

  stats (): BackendTlsStats {
    return { ...this.#stats };
  }

  #readCa (file: string): Buffer {
    let ca = this.#ca.get(file);
    if (!ca) {
      ca = readFileSync(file);
      this.#ca.set(file, ca);
    }
    return ca;
  }
}
