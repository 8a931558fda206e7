// A `mode: passthrough` frontend: the backends hold the keys. Reads the ClientHello
// without decrypting anything, picks a backend by SNI and a server by the stick table
// (the one holding the session the client offers) or else the balance algorithm,
// replays the bytes (after a PROXY v2 header if asked), then splices both directions,
// watching the backend's first bytes go by to learn which sessions it now holds. What
// can and cannot stick: docs/passthrough.md.
import type { Socket } from 'node:net';
import { stickTableOptions } from '../config/store-options.ts';
import type { FrontendConfig } from '../config/types.ts';
import { MemoryStore } from '../session-cache/memory-store.ts';
import type { SessionStore } from '../session-cache/store.ts';
import { offersTls13, type ClientHello } from '../tls/client-hello.ts';
import type { ServerHello } from '../tls/server-hello.ts';
import { acceptConnection, helloLimits, type Connection } from './connection.ts';
import { FrontendListener, type Admitted } from './listener.ts';
import { createBalancer, type Balancer } from '../balancer/algorithms.ts';
import type { BackendPool, ServerState } from '../balancer/pool.ts';
import { ServerFlightReader } from './server-flight.ts';
import { backendForSni } from './sni-routing.ts';
import { splice } from './splice.ts';
import { stickKey } from '../balancer/stick-keys.ts';
import { learnedFromServerHello, lookupsFor, offersSession, resumeMethod, versionName } from './stick-learning.ts';
import { StickTable, type StickLookup } from '../balancer/stick-table.ts';
import { TicketKeyProbe } from '../balancer/ticket-key-probe.ts';

export interface PassthroughOptions {
  frontend: FrontendConfig;
  pools: ReadonlyMap<string, BackendPool>;
  /**
   * The stick table, used when `frontend.persist` is set: one SharedMemoryStore per
   * pass-through frontend made by the main thread and attached in every worker (a
   * per-thread table would resume only 1/N of the clients under SO_REUSEPORT), with a
   * TieredStore over Redis in front of it when `persist.redis`. Keys are at most 34
   * bytes, values a server name.
   */
  table?: SessionStore;
  /**
   * Run the ticket-key probe in this thread, every `persist.probe_every` (one worker
   * thread is enough: the table is shared). Default true.
   */
  probe?: boolean;
  /** Most bytes of a TLS 1.2 backend's clear flight walked looking for its NewSessionTicket. */
  maxFlightBytes?: number;
}

const TLS13 = 0x0304;

export const DEFAULT_PASSTHROUGH_OPTIONS = Object.freeze({
  probe: true,
  maxFlightBytes: 65536,
});

export class Passthrough {
  readonly frontend: FrontendConfig;
  #pools: ReadonlyMap<string, BackendPool>;
  #table: StickTable | undefined;
  #fallback: Balancer | undefined;
  #probe: TicketKeyProbe | undefined;
  #maxFlightBytes: number;
  #listener: FrontendListener;

  constructor (options: PassthroughOptions) {
    const f = options.frontend;
    const o = { ...DEFAULT_PASSTHROUGH_OPTIONS, ...definedOnly(options) };
    this.frontend = f;
    this.#pools = options.pools;
    this.#maxFlightBytes = o.maxFlightBytes;
    this.#listener = new FrontendListener(f, (c) => this.#accept(c));
    if (f.persist) {
      // Without a shared table (tests, a single thread) a table of this thread's own.
      const store = options.table ?? new MemoryStore(stickTableOptions(f)!);
      const table = new StickTable(store, f.name, f.persist.expire);
      this.#table = table;
      if (f.persist.fallback) this.#fallback = createBalancer(f.persist.fallback);
      const every = f.persist.probe_every;
      if (o.probe && every > 0) {
        const names = new Set([f.backend, ...f.use_backend.map((r) => r.backend)]);
        const pools = [...names].map((n) => options.pools.get(n)).filter((p): p is BackendPool => p !== undefined);
        this.#probe = new TicketKeyProbe(pools, (server, keyName) => table.learn('probe', stickKey('key_name', keyName), server.config.name, 'probe'), {
          interval: every, timeout: f.timeout.connect, sendProxy: f.send_proxy === 'v2',
        });
      }
    }
  }

  async listen (fd?: number): Promise<number> {
    const port = await this.#listener.listen(fd);
    this.#probe?.start();
    return port;
  }

  get connections (): number { return this.#listener.connections; }

  close (drain: number): Promise<void> {
    this.#probe?.stop();
    return this.#listener.close(drain);
  }

  #accept (admitted: Admitted): void {
    const f = this.frontend;
    // One timer from accept to the backend connected: a client that trickles its
    // ClientHello, or a backend that never answers the connect, holds nothing for long.
    acceptConnection(this.#listener, admitted, `ClientHello not relayed within ${f.timeout.handshake} ms`, (conn, hello, bytes) => {
      const c: Relayed = { conn, hello, bytes };
      this.#route(c).then((backend) => {
        if (conn.settled || conn.raw.destroyed) { backend?.socket.destroy(); conn.settle(); return; }
        if (!backend) { conn.fail('backend', 'no backend'); return; }
        conn.settle();
        this.#relay(c, backend.socket, backend.server, backend.pool);
      }, (err: Error) => conn.fail('backend', err.message));
    });
  }

  /** Chooses a server (stick table, else the fallback algorithm) and connects to it. */
  async #route (c: Relayed): Promise<{ socket: Socket; server: ServerState; pool: BackendPool } | undefined> {
    const f = this.frontend;
    const pool = this.#pools.get(backendForSni(f, c.hello.serverName));
    if (!pool) return undefined;
    const table = this.#table;
    let stuck: StickLookup | undefined;
    let prefer: ServerState | undefined;
    let missReason: 'unknown' | 'server_down' | 'server_unknown' | 'store_error' | undefined;
    if (table && offersSession(c.hello)) {
      const found = await table.find(lookupsFor(c.hello));
      if (found && 'error' in found) missReason = 'store_error';
      else if (found) {
        stuck = found;
        const server = pool.servers().find((s) => s.config.name === found.server);
        if (!server) missReason = 'server_unknown';
        else if (!server.up) missReason = 'server_down';
        else prefer = server;
      } else missReason = 'unknown';
    }
    if (!prefer && this.#fallback) {
      prefer = this.#fallback.pick(pool.servers().filter((s) => s.up && s.config.weight > 0), c.conn.address);
    }
    const connected = await pool.connect(c.conn.address, { connectTimeout: f.timeout.connect, prefer, raw: true });
    if (table && stuck) {
      if (missReason) table.miss(c.conn.client, missReason, stuck.kind, stuck.server);
      else if (connected.server === prefer) {
        table.hit(c.conn.client, stuck.kind, stuck.server);
        if (table.fresh(stuck)) c.fresh = stuck.key;
      } else table.miss(c.conn.client, 'connect_failed', stuck.kind, stuck.server);
    } else if (table && missReason) {
      // A TLS 1.3 client's legacy session id is random: only a miss if the server picks TLS 1.2 (see #resumed).
      if (offersRealSession(c.hello)) table.miss(c.conn.client, missReason);
      else c.unknownId = true;
    }
    return { ...connected, pool };
  }

  #relay (c: Relayed, backend: Socket, server: ServerState, pool: BackendPool): void {
    const f = this.frontend;
    if (f.send_proxy === 'v2') {
      backend.write(c.conn.proxyHeader({ authority: c.hello.serverName }));
    }
    backend.write(c.bytes);
    this.#watch(c, backend, server);
    // Passive health: a server that answers is fine at layer 4; one whose own socket
    // fails (reset, broken pipe) counts against it. The ClientHello is not replayed on
    // another server here: pass-through keeps a client on the server that holds its session.
    backend.once('data', () => pool.observe(server, undefined));
    splice(c.conn.raw, backend, { clientTimeout: f.timeout.client, serverTimeout: Math.max(f.timeout.client, f.timeout.server) }, (err, side) => {
      const code = (err as NodeJS.ErrnoException | undefined)?.code;
      if (side === 'server' && code) pool.observe(server, code);
      if (err) c.conn.error('proxy', err.message);
    });
  }

  /** Reads the backend's answer as it is forwarded (a second listener; the pipe is not held back). */
  #watch (c: Relayed, backend: Socket, server: ServerState): void {
    const reader = new ServerFlightReader({
      limits: helloLimits(this.frontend),
      maxBytes: this.#maxFlightBytes,
    });
    const table = this.#table;
    const name = server.config.name;
    let hello: ServerHello | undefined;
    const onData = (chunk: Buffer): void => {
      for (const update of reader.push(chunk)) {
        switch (update.type) {
          case 'hello':
            hello = update.hello;
            if (table) {
              for (const key of learnedFromServerHello(c.hello, hello)) {
                if (!c.fresh?.equals(key.key)) table.learn(c.conn.client, key, name, 'flight');
              }
            }
            break;
          case 'ticket': {
            const key = stickKey('key_name', update.keyName);
            if (table && !c.fresh?.equals(key.key)) table.learn(c.conn.client, key, name, 'flight');
            break;
          }
          case 'resumed':
            if (hello) this.#resumed(c, hello, update.resumed, name);
            break;
          case 'error':
            c.conn.error('backend', `server ${name}: ${update.reason}`);
            break;
        }
      }
      if (reader.done) backend.removeListener('data', onData);
    };
    backend.on('data', onData);
  }

  /** The handshake outcome, published as the terminator publishes its own (resumption ratio per frontend). */
  #resumed (c: Relayed, hello: ServerHello, resumed: boolean, server: string): void {
    // A TLS 1.2 ticket accepted without an echoed session id only shows as an abbreviated handshake.
    const table = this.#table;
    if (table && c.unknownId && hello.version !== TLS13) table.miss(c.conn.client, 'unknown');
    if (table && resumed && hello.version !== TLS13 && hello.sessionId.length === 0 && c.hello.sessionTicket) {
      const keyName = c.hello.sessionTicket.subarray(0, 16);
      const key = stickKey('key_name', keyName);
      if (keyName.length === 16 && !c.fresh?.equals(key.key)) table.learn(c.conn.client, key, server, 'flight');
    }
    c.conn.publish({
      sni: c.hello.serverName ?? '', version: versionName(hello.version),
      cipher: `0x${hello.cipherSuite.toString(16).padStart(4, '0')}`, alpn: hello.alpn ?? '', resumed,
      method: resumeMethod(c.hello, hello, resumed),
      miss: !resumed && offeredResumable(c.hello, hello) ? 'unknown' : undefined,
    });
  }
}

interface Relayed {
  conn: Connection;
  hello: ClientHello;
  /** Every byte read from the client so far: the ClientHello and whatever followed it (0-RTT data). */
  bytes: Buffer;
  /** The stick key that routed this connection, when it has long enough to live not to be written again. */
  fresh?: Buffer;
  /** The table did not know the offered session id, and whether that was a real offer is up to the version the server picks. */
  unknownId?: boolean;
}

/** A PSK, a ticket, or a session id from a client that cannot be on TLS 1.3 (whose legacy id would be random). */
function offersRealSession (hello: ClientHello): boolean {
  return hello.pskIdentities.length > 0 || (hello.sessionTicket?.length ?? 0) > 0 || (hello.sessionId.length > 0 && !offersTls13(hello));
}

/** Whether a non-resumed handshake is a miss: a TLS 1.3 client's random legacy id is not an offer. */
function offeredResumable (client: ClientHello, server: ServerHello): boolean {
  if (server.version === TLS13) return client.pskIdentities.length > 0;
  return client.sessionId.length > 0 || (client.sessionTicket?.length ?? 0) > 0;
}

function definedOnly<T extends object> (options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
