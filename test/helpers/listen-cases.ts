// The frontends whose listening sockets the fault tests (worker deaths, reloads) stress:
// the native engine's, and engine node's two kinds, a terminate frontend with
// `global.engine: node` and a pass-through frontend (engine node whatever the setting) in
// front of an HTTPS backend. Where the addon loads, all three listen on the process's one
// socket per address (runtime/listeners.ts); without it, engine node's workers have a
// SO_REUSEPORT socket each and only the engine-node cases run.
import type { TestContext } from 'node:test';
import { httpBackend, httpsBackend, type Backend } from './backend.ts';
import { ENGINES } from './engines.ts';
import { terminateConfig } from './warmshake.ts';

export type ListenCase = 'native' | 'node' | 'passthrough';

export const PROCESS_SOCKETS = ENGINES.includes('native');
export const LISTEN_CASES: readonly ListenCase[] = PROCESS_SOCKETS ? ['native', 'node', 'passthrough'] : ['node', 'passthrough'];

/** Listening sockets on one frontend address with `workers` workers. */
export const listenersFor = (workers: number): number => PROCESS_SOCKETS ? 1 : workers;

/** A backend answering `body` to HTTP GETs: over TLS behind pass-through (the client's TLS reaches it). */
export function backendFor (t: TestContext, c: ListenCase, cert: { cert: string; key: string }, body?: string): Promise<Backend> {
  return c === 'passthrough' ? httpsBackend(t, cert, body) : httpBackend(t, body);
}

/** terminateConfig for case `c`: the frontend `https` passes TLS through for 'passthrough'. */
export function configFor (c: ListenCase, o: Parameters<typeof terminateConfig>[0]): Record<string, unknown> {
  if (c !== 'passthrough') return terminateConfig({ ...o, engine: c });
  // No certificates on a pass-through frontend (JSON drops the undefined).
  return terminateConfig({ ...o, frontend: { ...o.frontend, mode: 'passthrough', certificates: undefined } });
}
