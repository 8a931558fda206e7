// A backend's servers: which are up, how many connections each holds, which one takes
// the next connection, and the connect itself with failover to the next server. Up/down
// follows HAProxy's rise/fall: `fall` failures in a row (health checks, or live traffic:
// failed connects and, like HAProxy's `observe layer4`, resets and silences on
// established connections) take a server down, `rise` successful checks bring it back.
// Without health checks, live traffic takes a server out for PASSIVE_DOWN_MS only
// (nginx's max_fails/fail_timeout), and never the last one up.
import { EventEmitter } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';
import { MemoryStore } from '../session-cache/memory-store.ts';
import { DEFAULT_STORE_OPTIONS } from '../session-cache/store.ts';
import { BackendTls } from './backend-tls.ts';
import type { BackendConfig, ServerConfig } from '../config/types.ts';
import { BackendUnavailableError } from '../errors.ts';
import { createBalancer } from './algorithms.ts';
import type { Balancer } from './algorithms.ts';
import { HealthMonitor } from './health-check.ts';

export interface ServerState {
  readonly config: ServerConfig;
  up: boolean;
  /** Connections open now, counting connects in progress (so leastconn sees a burst). */
  active: number;
  /** Connections made since start. */
  total: number;
  /** Connects from live traffic that failed since start (HAProxy's `econ`). */
  failures: number;
}

export interface StateChange {
  backend: string;
  server: ServerState;
  up: boolean;
  reason: string;
}

export interface PoolOptions {
  /** ms to wait for a connect (and, to a TLS server, its handshake) when `connect` is not told. */
  connectTimeout: number;
  /** Health checks send a PROXY v2 LOCAL header first (the frontend sends PROXY headers). */
  checkSendProxy: boolean;
  /**
   * Connects and resumes TLS to servers with `tls` (one per thread, its session store
   * shared by all threads). Without it the pool makes one with a store of its own.
   */
  backendTls?: BackendTls;
}

export const DEFAULT_POOL_OPTIONS: PoolOptions = {
  connectTimeout: 5000,
  checkSendProxy: false,
};

export interface PoolConnectOptions {
  connectTimeout?: number;
  /** Servers not to try (already failed this request). */
  exclude?: ReadonlySet<ServerState>;
  /** Try this server first if it is up (stick table, persistence); weight 0 does not stop it. */
  prefer?: ServerState;
  /** Plain TCP even to a server with `tls` (pass-through relays the client's own TLS). */
  raw?: boolean;
}


/** One connect attempt to one server, for counters (HAProxy's stot and econ). */
export interface ConnectAttempt { backend: string; server: ServerState; ok: boolean; reason?: string }

/** A failure of live traffic on an established connection (a reset, a silence), for counters. */
export interface ObservedFailure { backend: string; server: ServerState; failure: string }

type PoolEvents = { state: [StateChange]; attempt: [ConnectAttempt]; failure: [ObservedFailure] };

/** Without health checks: failures in a row from live traffic that take a server out, and for how long. */
export const PASSIVE_FALL = 3;
export const PASSIVE_DOWN_MS = 10_000;

interface Streak { successes: number; failures: number }

const describe = (s: ServerState): string => `${s.config.name} (${s.config.address.host}:${s.config.address.port})`;

export class BackendPool extends EventEmitter<PoolEvents> {
  readonly name: string;
  #config: BackendConfig;
  #options: PoolOptions;
  #servers: readonly ServerState[];
  #balancer: Balancer;
  #streaks = new Map<ServerState, Streak>();
  #tls: BackendTls;
  #monitor: HealthMonitor | undefined;
  #comebacks = new Set<NodeJS.Timeout>();

  constructor (config: BackendConfig, options: Partial<PoolOptions> = {}) {
    super();
    this.name = config.name;
    this.#config = config;
    this.#options = { ...DEFAULT_POOL_OPTIONS, ...options };
    // Servers start up, as in HAProxy: a fresh process should not refuse traffic while
    // the first round of checks runs; `fall` failures take a dead one out quickly.
    this.#servers = config.servers.map((server) => ({ config: server, up: true, active: 0, total: 0, failures: 0 }));
    for (const s of this.#servers) this.#streaks.set(s, { successes: 0, failures: 0 });
    this.#balancer = createBalancer(config.balance);
    this.#tls = this.#options.backendTls ?? new BackendTls({ store: new MemoryStore({ ...DEFAULT_STORE_OPTIONS, size: 64, maxEntryBytes: 4096 }) });
  }

  servers (): readonly ServerState[] {
    return this.#servers;
  }

  /**
   * Picks a server by the backend's algorithm among the ones up with a weight above 0
   * ('source' hashes the client address: one address keeps one server while the set is
   * unchanged); `exclude` skips servers already tried.
   */
  pick (clientAddress: string, exclude?: ReadonlySet<ServerState>): ServerState | undefined {
    const candidates = this.#servers.filter((s) => s.up && s.config.weight > 0 && !exclude?.has(s));
    return this.#balancer.pick(candidates, clientAddress);
  }

  /**
   * Connects to a picked server; on failure or timeout tries the next one not yet tried.
   * Rejects with BackendUnavailableError naming every server tried and why.
   */
  async connect (clientAddress: string, options: PoolConnectOptions = {}): Promise<{ socket: Socket; server: ServerState }> {
    const timeout = options.connectTimeout ?? this.#options.connectTimeout;
    const tried = new Set<ServerState>(options.exclude);
    const attempts: Array<{ server: string; reason: string }> = [];
    const prefer = options.prefer;
    let next = prefer?.up && this.#servers.includes(prefer) && !tried.has(prefer) ? prefer : this.pick(clientAddress, tried);
    while (next) {
      const server = next;
      tried.add(server);
      server.active++;
      try {
        const socket = await this.#open(server, timeout, options.raw === true);
        server.total++;
        socket.once('close', () => { server.active--; });
        // Not a success yet: a server that accepts and then resets is judged by `observe`.
        this.emit('attempt', { backend: this.name, server, ok: true });
        return { socket, server };
      } catch (err) {
        server.active--;
        server.failures++;
        const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        attempts.push({ server: server.config.name, reason });
        this.emit('attempt', { backend: this.name, server, ok: false, reason });
        this.#observe(server, `connect failed: ${reason}`);
      }
      next = this.pick(clientAddress, tried);
    }
    const failed = attempts.map((a) => {
      const s = this.#servers.find((x) => x.config.name === a.server)!;
      return `${describe(s)}: ${a.reason}`;
    });
    const down = this.#servers.filter((s) => !tried.has(s)).map((s) => `${describe(s)}: ${s.up ? 'weight 0' : 'down'}`);
    const message = attempts.length === 0
      ? `backend ${this.name}: no server is available (${down.join(', ')})`
      : `backend ${this.name}: every server failed (${[...failed, ...down].join(', ')})`;
    throw new BackendUnavailableError(this.name, attempts, message);
  }

  /** Marks a server up or down (health checks, the pass-through learner); emits 'state' on a change. */
  setUp (server: ServerState, up: boolean, reason: string): void {
    const streak = this.#streaks.get(server);
    if (!streak) throw new RangeError(`setUp: ${server.config.name} is not a server of backend ${this.name}`);
    streak.successes = 0;
    streak.failures = 0;
    if (server.up === up) return;
    server.up = up;
    this.emit('state', { backend: this.name, server, up, reason });
  }

  /**
   * The outcome of live traffic on `server` (HAProxy's `observe layer4`): a failure
   * (connect failed, reset, no answer in time) or undefined for a connection that got its
   * answer. With health checks it counts toward `fall` like a failed check, and only the
   * checks bring the server back; without, PASSIVE_FALL failures in a row take it out for
   * PASSIVE_DOWN_MS, unless it is the last server up.
   */
  observe (server: ServerState, failure: string | undefined): void {
    if (failure !== undefined) this.emit('failure', { backend: this.name, server, failure });
    this.#observe(server, failure);
  }

  #observe (server: ServerState, failure: string | undefined): void {
    if (this.#config.health_check) { this.#record(server, failure); return; }
    const streak = this.#streaks.get(server)!;
    if (failure === undefined) { streak.failures = 0; return; }
    if (!server.up || ++streak.failures < PASSIVE_FALL) return;
    if (!this.#servers.some((s) => s !== server && s.up && s.config.weight > 0)) return;
    this.setUp(server, false, `${streak.failures} failures in a row, last: ${failure}; out for ${PASSIVE_DOWN_MS / 1000} s (no health check)`);
    const timer = setTimeout(() => {
      this.#comebacks.delete(timer);
      this.setUp(server, true, `back after ${PASSIVE_DOWN_MS / 1000} s out (no health check)`);
    }, PASSIVE_DOWN_MS);
    timer.unref();
    this.#comebacks.add(timer);
  }

  /** Starts the active checks when the backend has `health_check`; otherwise does nothing. */
  startHealthChecks (): void {
    const check = this.#config.health_check;
    if (!check || this.#monitor?.running) return;
    const targets = this.#servers.map((server) => ({
      address: server.config.address,
      tls: server.config.tls,
      report: (reason: string | undefined) => this.#record(server, reason),
    }));
    this.#monitor = new HealthMonitor(check, targets, this.#options.checkSendProxy);
    this.#monitor.start();
  }

  stop (): void {
    for (const timer of this.#comebacks) clearTimeout(timer);
    this.#comebacks.clear();
    this.#monitor?.stop();
    this.#monitor = undefined;
  }

  /** One check or connect result (undefined = success) counted against rise/fall. */
  #record (server: ServerState, failure: string | undefined): void {
    const streak = this.#streaks.get(server)!;
    const check = this.#config.health_check;
    if (failure === undefined) {
      streak.failures = 0;
      if (!server.up && ++streak.successes >= (check?.rise ?? 1)) {
        this.setUp(server, true, `${streak.successes} successful checks in a row`);
      }
    } else {
      streak.successes = 0;
      if (server.up && ++streak.failures >= (check?.fall ?? 1)) {
        this.setUp(server, false, `${streak.failures} failures in a row, last: ${failure}`);
      }
    }
  }

  #open (server: ServerState, timeout: number, raw: boolean): Promise<Socket> {
    const { host, port } = server.config.address;
    const tls = raw ? undefined : server.config.tls;
    return new Promise((resolve, reject) => {
      // allowHalfOpen: the splice forwards a client's half-close and still relays the answer.
      const socket = tcpConnect({ host, port, allowHalfOpen: true, noDelay: true });
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`connect timed out after ${timeout} ms`)), timeout);
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        if (!tls) { socket.removeListener('error', fail); resolve(socket); return; }
        // The TLS handshake (bounded by the same timeout) and its session resumption.
        socket.removeListener('error', fail);
        socket.on('error', () => {});
        this.#tls.connect(socket, { backend: this.name, server: server.config }, timeout).then(resolve, reject);
      });
    });
  }

}
