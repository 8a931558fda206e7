// Per-frontend address filters and per-client budgets, checked before any TLS work so
// a denied or greedy client costs nothing but an accept.
import { addressBytes, cidrContains } from '../config/cidr.ts';
import type { FrontendConfig } from '../config/types.ts';

/** Deny wins; with an allow list, only listed addresses pass. */
export function isAllowed (frontend: FrontendConfig, address: string): boolean {
  if (frontend.allow.length === 0 && frontend.deny.length === 0) return true;
  const bytes = addressBytes(address);
  if (!bytes) return false;
  if (frontend.deny.some((c) => cidrContains(c, bytes))) return false;
  return frontend.allow.length === 0 || frontend.allow.some((c) => cidrContains(c, bytes));
}

/**
 * Concurrent connections and new sessions per second, per client address, in this
 * worker thread (the kernel spreads one client's connections over the threads, so a
 * thread's share is an approximation, like HAProxy's per-thread stick counters).
 */
export class ClientBudgets {
  #maxConnections: number;
  #maxNewSessions: number;
  #connections = new Map<string, number>();
  #sessions = new Map<string, { second: number; count: number }>();

  constructor (maxConnections: number, maxNewSessionsPerSecond: number) {
    this.#maxConnections = maxConnections;
    this.#maxNewSessions = maxNewSessionsPerSecond;
  }

  acquireConnection (address: string): boolean {
    if (this.#maxConnections === 0) return true;
    const n = this.#connections.get(address) ?? 0;
    if (n >= this.#maxConnections) return false;
    this.#connections.set(address, n + 1);
    return true;
  }

  releaseConnection (address: string): void {
    if (this.#maxConnections === 0) return;
    const n = (this.#connections.get(address) ?? 1) - 1;
    if (n <= 0) this.#connections.delete(address);
    else this.#connections.set(address, n);
  }

  admitNewSession (address: string): boolean {
    if (this.#maxNewSessions === 0) return true;
    const second = Math.floor(Date.now() / 1000);
    const entry = this.#sessions.get(address);
    if (!entry || entry.second !== second) {
      if (this.#sessions.size > 100_000) this.#sessions.clear();
      this.#sessions.set(address, { second, count: 1 });
      return true;
    }
    entry.count++;
    return entry.count <= this.#maxNewSessions;
  }
}
