// What the main thread hands to each worker: the config and the shared buffers.
import type { Config } from '../config/types.ts';
import type { ServerReport } from './server-states.ts';

export interface SharedBuffers {
  store: SharedArrayBuffer;
  keys: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** Stick table of each pass-through frontend with `persist`, by frontend name. */
  tables: Record<string, SharedArrayBuffer>;
  /** Client sessions with TLS backend servers, when any server has `tls`. */
  backendSessions?: SharedArrayBuffer;
}

export interface WorkerInit {
  config: Config;
  shared: SharedBuffers;
  /** 0-based worker number, stable across restarts (logs name it). */
  index: number;
  /** The process's listening descriptor of each frontend, by name (runtime/listeners.ts): native frontends share it, engine node's dup() it. */
  listeners: Record<string, number>;
}

export type ToWorker =
  | { type: 'stop'; drain: number }
  /** HAProxy's `debug dev panic`: the worker dies of an uncaught exception, to prove recovery. */
  | { type: 'panic' };

export type FromWorker =
  | { type: 'ready'; ports: Record<string, number> }
  | { type: 'failed'; message: string }
  /** A backend server changed state in this thread (and once per server at start). */
  | ({ type: 'server' } & ServerReport)
  | { type: 'stopped' };
