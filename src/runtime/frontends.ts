// Builds the frontends and backend pools of one config inside one thread.
import type { BackendTls } from '../balancer/backend-tls.ts';
import { BackendPool } from '../balancer/pool.ts';
import { keepaliveMs } from '../config/keepalive.ts';
import type { Config, FrontendConfig } from '../config/types.ts';
import type { SessionStore } from '../session-cache/store.ts';
import { loadCertificate } from '../tls/certificates.ts';
import { Terminator } from '../frontend/terminator.ts';
import type { TicketKeySource } from '../tls/ticket-key.ts';
import { Passthrough } from '../frontend/passthrough.ts';
import type { NativeAddon } from '../native/types.ts';
import { NativeEngine, NativeFrontend } from '../native/engine.ts';
import type { SharedMemoryStore } from '../session-cache/shared-memory-store.ts';
import type { TieredStore } from '../session-cache/tiered-store.ts';
import type { SharedTicketKeys } from '../tls/shared-ticket-keys.ts';
import type { SharedCounters } from './counters.ts';
import type { Logger } from './logger.ts';
import { NativeCounts } from './native-counts.ts';
import { followWantedRecords } from './observe.ts';

/** What every frontend mode offers its thread. */
export interface Frontend {
  readonly frontend: Pick<FrontendConfig, 'name' | 'keepalive' | 'keepalive_delay'>;
  /** `fd`: a listening descriptor the frontend then owns (its copy of the process's socket). */
  listen (fd?: number): Promise<number>;
  close (drain: number): Promise<void>;
  readonly connections: number;
}

export interface ThreadServices {
  store: SessionStore;
  keys: TicketKeySource;
  /** Stick table per pass-through frontend with `persist`. */
  tables: ReadonlyMap<string, SessionStore>;
  /** Whether this thread runs the once-per-process chores (pass-through ticket-key probes). */
  first: boolean;
  /** TLS client to backend servers with `tls`, resuming through a store all threads share. */
  backendTls?: BackendTls;
  /** The native engine, and the frontends it serves (src/native/choice.ts chose them). */
  native?: { addon: NativeAddon; frontends: readonly string[]; store: SharedMemoryStore; keys: SharedTicketKeys; counters: SharedCounters; worker: number; listeners: Readonly<Record<string, number>>; tier?: TieredStore;
    /** The thread's logger: its level decides which records the engine sends (observe.ts wantedRecords). */
    log: Logger };
}

export interface FrontendSet {
  frontends: Frontend[];
  pools: Map<string, BackendPool>;
}

export function buildFrontends (config: Config, services: ThreadServices): FrontendSet {
  // A backend that expects the PROXY header from some frontend gets it from health checks too (LOCAL).
  const usesProxy = (backend: string): boolean => config.frontends.some((f) => f.send_proxy !== undefined &&
    (f.backend === backend || f.use_backend.some((r) => r.backend === backend)));
  const pools = new Map(config.backends.map((b) => [b.name, new BackendPool(b, { checkSendProxy: usesProxy(b.name), backendTls: services.backendTls })]));
  const native = nativeFrontends(config, services, pools);
  const frontends: Frontend[] = config.frontends.map((f) => native.get(f.name) ?? (f.mode === 'terminate'
    ? new Terminator({
      frontend: f,
      certificates: f.certificates.map(loadCertificate),
      store: services.store,
      keys: services.keys,
      tickets: config.tickets,
      lifetime: config.session_cache.lifetime,
      pools,
    })
    : new Passthrough({ frontend: f, pools, table: services.tables.get(f.name), probe: services.first })));
  return { frontends, pools };
}

/** One engine for all of this thread's native frontends, started when the first listens. */
function nativeFrontends (config: Config, services: ThreadServices, pools: ReadonlyMap<string, BackendPool>): Map<string, Frontend> {
  const out = new Map<string, Frontend>();
  const n = services.native;
  if (!n || n.frontends.length === 0) return out;
  const chosen = config.frontends.filter((f) => n.frontends.includes(f.name));
  const counts = new NativeCounts(n.counters, chosen.map((f) => f.name), n.worker);
  followWantedRecords(n.log, (wanted) => counts.want(wanted));
  const engine = new NativeEngine(n.addon, {
    config, pools, store: n.store, keys: n.keys, listeners: n.listeners, counts, tier: n.tier,
    frontends: chosen.map((f) => ({ frontend: f, certificates: f.certificates.map(loadCertificate) })),
  });
  let ports: Record<string, number> | undefined;
  const start = (): Record<string, number> => (ports ??= engine.start());
  chosen.forEach((f, i) => out.set(f.name, new NativeFrontend(f, engine, i, start)));
  return out;
}

/** The process's listening descriptors by frontend name, and how a thread copies one (the addon's listenerDup). */
export interface ProcessSockets {
  fds: Readonly<Record<string, number>>;
  /** With the frontend's keep-alive (ms, 0 = off), which the socket passes to the connections accepted from it. */
  dup (fd: number, keepaliveMs: number): number;
}

/**
 * Listens on every frontend; resolves with the port each got. An engine-node frontend
 * with a process socket listens on a copy of its own, which it closes when it stops; the
 * native engine was given the descriptors themselves (ThreadServices.native).
 */
export async function listenAll (set: FrontendSet, sockets?: ProcessSockets): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  for (const f of set.frontends) {
    const fd = f instanceof NativeFrontend ? undefined : sockets?.fds[f.frontend.name];
    ports[f.frontend.name] = await f.listen(fd === undefined ? undefined : sockets!.dup(fd, keepaliveMs(f.frontend)));
  }
  return ports;
}

export async function closeAll (set: FrontendSet, drain: number): Promise<void> {
  await Promise.all(set.frontends.map((f) => f.close(drain)));
  for (const pool of set.pools.values()) pool.stop();
}
