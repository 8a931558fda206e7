// Builds the frontends and backend pools of one config inside one thread.
import type { BackendTls } from '../balancer/backend-tls.ts';
import { BackendPool } from '../balancer/pool.ts';
import type { Config } from '../config/types.ts';
import type { SessionStore } from '../session-cache/store.ts';
import { loadCertificate } from '../tls/certificates.ts';
import { Terminator } from '../frontend/terminator.ts';
import type { TicketKeySource } from '../tls/ticket-key.ts';
import { Passthrough } from '../frontend/passthrough.ts';

/** What every frontend mode offers its thread. */
export interface Frontend {
  readonly frontend: { name: string };
  listen (): Promise<number>;
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
  const frontends: Frontend[] = config.frontends.map((f) => f.mode === 'terminate'
    ? new Terminator({
      frontend: f,
      certificates: f.certificates.map(loadCertificate),
      store: services.store,
      keys: services.keys,
      tickets: config.tickets,
      lifetime: config.session_cache.lifetime,
      pools,
    })
    : new Passthrough({ frontend: f, pools, table: services.tables.get(f.name), probe: services.first }));
  return { frontends, pools };
}

/** Listens on every frontend; resolves with the port each got. */
export async function listenAll (set: FrontendSet): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  for (const f of set.frontends) ports[f.frontend.name] = await f.listen();
  return ports;
}

export async function closeAll (set: FrontendSet, drain: number): Promise<void> {
  await Promise.all(set.frontends.map((f) => f.close(drain)));
  for (const pool of set.pools.values()) pool.stop();
}
