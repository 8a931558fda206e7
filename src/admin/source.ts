// What the admin side reads from the running process. The Supervisor provides all of
// it; the optional parts (server health, stick tables) come from subsystems that may not
// be there. Admin code reads through this on every request and never caches `store`
// or `keys`: a reload may replace either.
import type { Config } from '../config/types.ts';
import type { SessionStore, StoreEntryInfo, StoreStats } from '../session-cache/store.ts';
import type { CounterEntry } from '../runtime/counters.ts';
import type { TicketKey } from '../tls/ticket-key.ts';

export interface CounterSource {
  /** Every series the workers count (a family and its labels) with its value; runtime/worker-stats.ts reads them. */
  entries (): CounterEntry[];
  /** For a sampler that skips quiet periods (runtime/counters.ts); without them every sample reads entries(). */
  newSnapshot? (): Int32Array;
  changedSince? (seen: Int32Array): boolean;
}

export interface StoreSource {
  stats (): StoreStats & { blocks?: number; freeBlocks?: number };
  list (limit: number): Promise<StoreEntryInfo[]>;
  clear (): Promise<number>;
}

/** One tier of the session cache as the admin commands reach it (`shared`, `redis`). */
export interface SessionTier {
  name: string;
  store: Pick<StoreSource, 'list' | 'clear'>;
}

export interface KeyRing {
  /** Newest first: index 0 encrypts, the rest only decrypt. */
  keys (): readonly TicketKey[];
}

export interface RotationSource {
  rotateNow (): Promise<void>;
  readonly source: string;
}

export interface WorkerView {
  index: number;
  threadId: number;
  state: string;
  /** ms */
  uptime: number;
  restarts: number;
}

/** One backend server as the health checks see it. */
export interface ServerState {
  backend: string;
  server: string;
  /** Up in at least one worker thread (it still gets connections). */
  up: boolean;
  /** Worker threads that see it up, of those that reported (absent: one view only). */
  upWorkers?: number;
  workers?: number;
  /** Why it is down (last failed check). */
  reason?: string;
  /** ms since the epoch of the last up/down change. */
  since?: number;
}

/** `UP`, `DOWN`, or `UP k/n` while k of n worker threads see it up. */
export function serverStatus (s: ServerState): string {
  if (!s.up) return 'DOWN';
  return s.workers !== undefined && s.upWorkers !== undefined && s.upWorkers < s.workers ? `UP ${s.upWorkers}/${s.workers}` : 'UP';
}

/** The `warmshake_backend_server_up` value: the share of worker threads that see the server up. */
export function serverUpShare (s: ServerState): number {
  if (s.workers === undefined || s.upWorkers === undefined || s.workers === 0) return s.up ? 1 : 0;
  return s.upWorkers / s.workers;
}

export interface AdminSource {
  readonly config: Config;
  readonly store: StoreSource;
  readonly keys: KeyRing;
  readonly counters: CounterSource;
  readonly rotation: RotationSource;
  /** ms since the epoch. */
  readonly started: number;
  /** Port each frontend really listens on (the config may say 0). */
  readonly ports?: Record<string, number>;
  workers (): WorkerView[];
  /**
   * Every tier the workers' session cache has, fastest first, for `show sessions` and
   * `clear sessions` (absent: `store` is the only one).
   */
  sessionTiers? (): SessionTier[];
  /** Health-check state of every server (absent: no health checks known here). */
  servers? (): ServerState[];
  /** Pass-through stick tables by frontend name (the stores the workers share). */
  readonly tables?: ReadonlyMap<string, SessionStore>;
  /** Reload counts, the last reload, the running config's hash. */
  readonly reloads?: {
    readonly ok: number;
    readonly failed: number;
    readonly last?: { at: number; ok: boolean; error?: string };
    readonly hash: string;
  };
  /** `debug dev panic N`: worker N dies of an uncaught exception; false when there is none. */
  panic? (index: number): boolean;
}
