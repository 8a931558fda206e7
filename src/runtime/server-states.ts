// Up/down of every backend server as the worker threads see it. Each thread runs its
// own health checks (and its own failed connects count against a server), so each
// reports its view with the reason and the time of the change; the main thread keeps
// the view of every live thread and aggregates: a server is UP when every thread sees
// it up, DOWN when none does, and up in k of n threads in between.
import type { BackendConfig } from '../config/types.ts';

/** What a worker posts when a server's state changes (and once for every server at start). */
export interface ServerReport {
  backend: string;
  server: string;
  up: boolean;
  /** Why it went down (the last failed check), or why it came back. */
  reason?: string;
  /** ms since the epoch of the change (at start: when the thread began checking). */
  at: number;
}

export interface AggregatedServer {
  backend: string;
  server: string;
  /** Up in at least one thread: it still gets connections. */
  up: boolean;
  /** Threads that see it up, of the threads that reported. */
  upWorkers: number;
  workers: number;
  /** Reason given by a thread that sees it down (absent while it is up everywhere). */
  reason?: string;
  /** ms since the epoch of the latest change any thread saw. */
  since?: number;
}

export class ServerStates {
  /** By thread id, then `backend/server`. */
  #byThread = new Map<number, Map<string, ServerReport>>();

  report (threadId: number, r: ServerReport): void {
    let states = this.#byThread.get(threadId);
    if (!states) this.#byThread.set(threadId, (states = new Map()));
    states.set(`${r.backend}/${r.server}`, r);
  }

  /** A thread that exited no longer counts. */
  forget (threadId: number): void {
    this.#byThread.delete(threadId);
  }

  /** Every configured server, aggregated over the threads in `threads` (servers nobody reported on yet count as up, as in HAProxy). */
  view (backends: readonly BackendConfig[], threads: readonly number[]): AggregatedServer[] {
    return backends.flatMap((b) => b.servers.map((s) => {
      const key = `${b.name}/${s.name}`;
      const reports = threads.map((t) => this.#byThread.get(t)?.get(key)).filter((r): r is ServerReport => r !== undefined);
      if (reports.length === 0) return { backend: b.name, server: s.name, up: true, upWorkers: 0, workers: 0 };
      const upWorkers = reports.filter((r) => r.up).length;
      const down = reports.find((r) => !r.up);
      return {
        backend: b.name, server: s.name, up: upWorkers > 0, upWorkers, workers: reports.length,
        reason: down?.reason, since: Math.max(...reports.map((r) => r.at)),
      };
    }));
  }
}
