// The worker's side of the native engine: hands it the frontends, the shared store and
// ticket ring, adds up the counters it keeps in shared memory (what `show info`, /metrics
// and the resumption alert read), drains the records it sends into the same
// diagnostics_channel events engine node publishes (the logs; only the records the
// worker's log level uses are sent: runtime/observe.ts wantedRecords), and stops it with
// a drain period. JS never sees a connection.
import { threadId } from 'node:worker_threads';
import type { BackendPool } from '../balancer/pool.ts';
import { keepaliveMs } from '../config/keepalive.ts';
import type { BackendConfig, Config, Cidr, FrontendConfig } from '../config/types.ts';
import { channels, type HandshakeEvent, type MissCause } from '../diagnostics.ts';
import { NativeEngineError } from '../errors.ts';
import type { SharedMemoryStore } from '../session-cache/shared-memory-store.ts';
import type { TieredStore } from '../session-cache/tiered-store.ts';
import { lockTag, NATIVE_LOCK_BIT } from '../session-cache/shm-lock.ts';
import type { LoadedCertificate } from '../tls/certificates.ts';
import { sessionIdContext } from '../tls/contexts.ts';
import type { SharedTicketKeys } from '../tls/shared-ticket-keys.ts';
import { NativeRedisTier } from './redis-tier.ts';
import type { EngineHandle, NativeAddon, NativeEvent } from './types.ts';
import { parseEvents } from './event-text.ts';
import { every } from '../beat.ts';

/** How often the worker adds up the engine's counters when no drain did (ms): on the thread's beat (src/beat.ts). */
const COUNTS_SYNC_MS = 500;

export interface NativeEngineOptions {
  config: Config;
  /** The thread's pools: their health checks mark servers up and down for the engine too. */
  pools: ReadonlyMap<string, BackendPool>;
  frontends: ReadonlyArray<{ frontend: FrontendConfig; certificates: readonly LoadedCertificate[] }>;
  store: SharedMemoryStore;
  keys: SharedTicketKeys;
  /** The process's listening descriptor per frontend name (runtime/listeners.ts); without one the engine opens its own. */
  listeners: Readonly<Record<string, number>>;
  /** The worker's session store when it has a Redis tier behind the shared memory (session_cache.redis). */
  tier?: TieredStore;
  /** The engine's own counters (native/counters.ts layout), and what adds them up after each drain. */
  counts: EngineCounts;
}

/** A block of native/counters.ts's layout the engine adds to, and the worker's reader of it. */
export interface EngineCounts {
  readonly values: BigInt64Array;
  /** Adds what the engine counted since the last call where `show info` and /metrics read. */
  sync (): void;
}

/**
 * The Redis tier's bounds (256 lookups waiting, 1,024 messages queued) made small, only
 * by tests of what the tier drops: WARMSHAKE_NATIVE_TIER_PENDING, WARMSHAKE_NATIVE_TIER_QUEUE.
 */
function tierBoundsForTests (): { pending?: number; queue?: number } {
  const { WARMSHAKE_NATIVE_TIER_PENDING: pending, WARMSHAKE_NATIVE_TIER_QUEUE: queue } = process.env;
  return { ...(pending ? { pending: Number(pending) } : {}), ...(queue ? { queue: Number(queue) } : {}) };
}

/** ALPN protocols in wire format (each prefixed by its length). */
function alpnWire (protocols: readonly string[]): Buffer {
  return Buffer.concat(protocols.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])));
}

/** The backends a frontend routes to, as the engine indexes them: its default first, then each other one its use_backend rules name. */
export function frontendBackends (f: FrontendConfig): string[] {
  return [...new Set([f.backend, ...f.use_backend.map((r) => r.backend)])];
}

/** An allow/deny list packed for the engine: 18 bytes a network (address length, prefix, 16 address bytes). */
function packCidrs (list: readonly Cidr[]): Uint8Array {
  const out = new Uint8Array(18 * list.length);
  list.forEach((c, i) => { out[18 * i] = c.bytes.length; out[18 * i + 1] = c.prefix; out.set(c.bytes, 18 * i + 2); });
  return out;
}

function backendOptions (b: BackendConfig | undefined, name: string, upOffset: number): unknown {
  return {
    name,
    balance: b?.balance ?? 'roundrobin',
    servers: (b?.servers ?? []).map((s) => ({ name: s.name, host: s.address.host, port: s.address.port, weight: s.weight })),
    upOffset,
  };
}

function frontendOptions (config: Config, f: FrontendConfig, certificates: readonly LoadedCertificate[], upAt: ReadonlyMap<string, number>, fd: number | undefined): unknown {
  const backends = frontendBackends(f);
  return {
    name: f.name,
    fd: fd ?? -1,
    host: f.bind.host,
    port: f.bind.port,
    backlog: f.backlog,
    sidCtx: sessionIdContext(f.name),
    lifetime: config.session_cache.lifetime,
    tickets: config.tickets.enabled,
    sendProxy: f.send_proxy === 'v2',
    maxConnections: f.limits.max_connections,
    perClientConnections: f.limits.per_client_connections,
    perClientNewSessions: f.limits.per_client_new_sessions,
    maxClientHello: f.limits.max_client_hello,
    maxClientHelloRecords: f.limits.max_client_hello_records,
    minVersion: f.min_version,
    maxVersion: f.max_version,
    ciphers: f.ciphers,
    ciphersuites: f.ciphersuites,
    alpn: alpnWire(f.alpn),
    // The same HKDF info as boundTicketKey, so tickets move between the engines.
    certs: certificates.map((c) => ({ cert: c.cert, key: c.key, info: Buffer.concat([Buffer.from(`warmshake ticket ${f.name} `), c.fingerprint]) })),
    names: certificates.flatMap((c, i) => c.names.map((n) => ({ name: n.startsWith('*.') ? n.slice(2) : n, cert: i, wildcard: n.startsWith('*.') }))),
    allow: packCidrs(f.allow),
    deny: packCidrs(f.deny),
    backends: backends.map((name) => backendOptions(config.backends.find((b) => b.name === name), name, upAt.get(name) ?? -1)),
    // sni-routing.ts's matching in C: lower case, a wildcard kept as its ".suffix".
    routes: f.use_backend.map((r) => {
      const sni = r.sni.toLowerCase();
      const wildcard = sni.startsWith('*.');
      return { sni: wildcard ? sni.slice(1) : sni, wildcard, backend: backends.indexOf(r.backend) };
    }),
    // TCP keep-alive's idle time before the first probe (ms), 0 = off: set on the listener.
    keepalive: keepaliveMs(f),
    timeouts: { handshake: f.timeout.handshake, client: f.timeout.client, server: f.timeout.server, connect: f.timeout.connect },
  };
}

export class NativeEngine {
  readonly #addon: NativeAddon;
  readonly #options: NativeEngineOptions;
  readonly #names: string[];
  /** One word per server of each backend the native frontends use (1 = up), read by the engine thread. */
  readonly #up: Int32Array;
  /** Where each backend's words start in #up. */
  readonly #upAt = new Map<string, number>();
  /** Per frontend, per backend in engine order: its pool and server names (passive health reports). */
  readonly #pools: Array<Array<{ pool: BackendPool; names: string[] } | undefined>>;
  /** The worker's side of the Redis tier, with session_cache.redis. */
  readonly #redis: NativeRedisTier | undefined;
  #handle: EngineHandle | undefined;
  #stopped: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  #stopSync: (() => void) | undefined;

  constructor (addon: NativeAddon, options: NativeEngineOptions) {
    this.#addon = addon;
    this.#options = options;
    this.#names = options.frontends.map((f) => f.frontend.name);
    this.#redis = options.tier && new NativeRedisTier(options.tier);
    const find = (name: string): BackendConfig | undefined => options.config.backends.find((b) => b.name === name);
    // One set of up words per backend, shared by the frontends that route to it.
    let words = 0;
    for (const f of options.frontends) {
      for (const name of frontendBackends(f.frontend)) {
        if (this.#upAt.has(name)) continue;
        this.#upAt.set(name, words);
        words += find(name)?.servers.length ?? 0;
      }
    }
    this.#up = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, words)));
    this.#pools = options.frontends.map((f) => frontendBackends(f.frontend).map((name) => {
      const b = find(name);
      const pool = options.pools.get(name);
      return b && pool ? { pool, names: b.servers.map((s) => s.name) } : undefined;
    }));
    for (const [name, offset] of this.#upAt) {
      const b = find(name);
      const pool = options.pools.get(name);
      if (!b || !pool) continue;
      const at = (server: string): number => offset + b.servers.findIndex((s) => s.name === server);
      for (const s of pool.servers()) Atomics.store(this.#up, at(s.config.name), s.up ? 1 : 0);
      pool.on('state', ({ server, up }) => Atomics.store(this.#up, at(server.config.name), up ? 1 : 0));
    }
  }

  /** Starts the engine thread; the port each frontend listens on, by name. */
  start (): Record<string, number> {
    const { config, frontends, store, keys } = this.#options;
    try {
      this.#handle = this.#start(config, frontends, store, keys);
    } catch (err) {
      throw new NativeEngineError((err as Error).message, { cause: err });
    }
    // The counters reach `show info`, /metrics and the resumption alert on this beat when
    // no record comes to drain (at log level warn the engine sends none for handshakes).
    const counts = this.#options.counts;
    this.#stopSync = every(COUNTS_SYNC_MS, () => counts.sync());
    const ports = this.#addon.enginePorts(this.#handle);
    return Object.fromEntries(this.#names.map((n, i) => [n, ports[i]]));
  }

  #start (config: Config, frontends: NativeEngineOptions['frontends'], store: SharedMemoryStore, keys: SharedTicketKeys): EngineHandle {
    return this.#addon.engineStart({
      frontends: frontends.map((f) => frontendOptions(config, f.frontend, f.certificates, this.#upAt, this.#options.listeners[f.frontend.name])),
      // How long the engine drains on its own when the worker dies under it (docs/native.md).
      drainMs: config.global.shutdown_timeout,
      serverUp: this.#up,
      store: new Uint8Array(store.buffer),
      layout: store.layout,
      ring: new Int32Array(keys.buffer),
      counters: this.#options.counts.values,
      // Tests shrink the event ring to show that what it drops is still counted.
      ...(process.env.WARMSHAKE_NATIVE_EVENT_RING ? { eventRing: Number(process.env.WARMSHAKE_NATIVE_EVENT_RING) } : {}),
      tag: lockTag(threadId) | NATIVE_LOCK_BIT,
      ...(this.#options.tier && config.session_cache.redis ? { tier: { timeout: config.session_cache.redis.timeout, ...tierBoundsForTests() } } : {}),
    }, () => this.#drain());
  }

  connections (index: number): number {
    return this.#handle ? this.#addon.engineConnections(this.#handle)[index] ?? 0 : 0;
  }

  /** Closes the listeners now; open connections get `drain` ms. */
  stop (drain: number): Promise<void> {
    const handle = this.#handle;
    if (!handle) return Promise.resolve();
    this.#stopping ??= new Promise<void>((resolve) => {
      this.#stopped = resolve;
      this.#addon.engineStop(handle, drain);
      this.#drain();
    });
    return this.#stopping;
  }

  #drain (): void {
    const handle = this.#handle;
    if (!handle) return;
    const { events, tier, stopped } = this.#addon.engineDrain(handle);
    // The Redis tier first: a session published late is a session another node misses.
    // A stopped engine has no handshake left to resume.
    this.#redis?.serve(tier, (token, result) => { if (this.#handle === handle) this.#addon.engineAnswer(handle, token, result); });
    for (const e of parseEvents(events)) this.#publish(e);
    // After the events: a count whose record was dropped was made before the ring was full,
    // and a full ring always brings another drain.
    this.#options.counts.sync();
    if (stopped && this.#stopped) {
      this.#stopSync?.();
      this.#addon.engineJoin(handle);
      this.#handle = undefined;
      this.#stopped();
    }
  }

  /**
   * A live-traffic failure the engine saw (engine node's forward.ts words): the pool
   * decides, as for engine node, and its 'state' event writes the up word the engine reads.
   */
  #observe (e: NativeEvent): void {
    const entry = this.#pools[e.frontend]?.[e.backend];
    const server = entry?.pool.servers().find((s) => s.config.name === entry.names[e.server]);
    if (!entry || !server) return;
    // Connections answered since the last failure break the streak, as engine node's observe(undefined) does.
    if (e.answered) entry.pool.observe(server, undefined);
    entry.pool.observe(server, e.reason);
  }

  #publish (e: NativeEvent): void {
    const frontend = this.#names[e.frontend] ?? '';
    if (e.kind === 'server') { this.#observe(e); return; }
    if (e.kind === 'stored') {
      if (channels.sessionStored.hasSubscribers) {
        channels.sessionStored.publish({ frontend, client: e.client, stored: e.stored, reason: e.reason || undefined, engine: 'native' });
      }
      return;
    }
    if (e.kind === 'error') {
      if (channels.connectionError.hasSubscribers) {
        channels.connectionError.publish({ frontend, client: e.client, stage: e.stage as never, reason: e.reason, engine: 'native' });
      }
      return;
    }
    if (!channels.handshake.hasSubscribers) return;
    const event: HandshakeEvent = {
      frontend, client: e.client, sni: e.sni, version: e.version, cipher: e.cipher, alpn: e.alpn,
      resumed: e.resumed, method: e.method, miss: (e.miss || undefined) as MissCause | undefined,
      offered: e.offered || undefined, duration: e.duration, engine: 'native',
    };
    channels.handshake.publish(event);
  }
}

/** One native frontend as the worker's frontend list sees it (listen/close/connections). */
export class NativeFrontend {
  readonly frontend: FrontendConfig;
  readonly #engine: NativeEngine;
  readonly #index: number;
  readonly #ports: () => Record<string, number>;

  constructor (frontend: FrontendConfig, engine: NativeEngine, index: number, ports: () => Record<string, number>) {
    this.frontend = frontend;
    this.#engine = engine;
    this.#index = index;
    this.#ports = ports;
  }

  async listen (): Promise<number> { return this.#ports()[this.frontend.name]; }
  close (drain: number): Promise<void> { return this.#engine.stop(drain); }
  get connections (): number { return this.#engine.connections(this.#index); }
}
