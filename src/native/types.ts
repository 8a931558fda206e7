// The addon's N-API surface, as the TypeScript side sees it.
import type { HandshakeEvent } from '../diagnostics.ts';
import type { Layout } from '../session-cache/shm-layout.ts';

export type StoreHandle = { readonly __brand: 'StoreHandle' };
export type EngineHandle = { readonly __brand: 'EngineHandle' };

/**
 * One handshake, connection error, stored session or server failure, as the engine
 * recorded it (drained by the worker). The handshake fields are diagnostics.ts's
 * HandshakeEvent's, except that C gives the frontend's index and empty strings for
 * "none" (the miss cause and offered id are checked when the worker publishes them).
 */
export interface NativeEvent extends Omit<HandshakeEvent, 'frontend' | 'miss' | 'offered' | 'engine'> {
  kind: 'handshake' | 'error' | 'stored' | 'server';
  /**
   * kind server: the failing server's backend (index in the frontend's backends: its
   * default, then the others use_backend names), its index there, and whether it
   * answered a connection since its last failure.
   */
  backend: number;
  server: number;
  answered: boolean;
  /** kind stored: whether the new session went into the cache. */
  stored: boolean;
  frontend: number;
  miss: string;
  offered: string;
  stage: string;
  reason: string;
}

/**
 * The Redis tier's work the engine hands the worker (c/tier.h): a lookup (`token` set)
 * after a miss in the shared store, or a new session's record to publish.
 */
export interface TierMessage {
  key: Buffer;
  token?: number;
  record?: Buffer;
  ttl?: number;
  /** A publish's number: once sent, the worker says up to which (TIER_RESULT.sent). */
  seq?: number;
}

/** engineAnswer's result codes (c/tier.h ws_tier_result). */
export const TIER_RESULT = { hit: 1, unknown: 2, timeout: 3, error: 4, sent: 5 } as const;

export interface NativeAddon {
  openssl: string;
  layout (): Record<string, number>;
  storeOpen (bytes: Uint8Array, layout: Layout, tag: number): StoreHandle;
  storeGet (store: StoreHandle, key: Uint8Array): { value?: Buffer; ttl?: number; miss?: 'unknown' | 'expired' };
  storeSet (store: StoreHandle, key: Uint8Array, value: Uint8Array, ttl: number): boolean;
  storeDelete (store: StoreHandle, key: Uint8Array): boolean;
  storeHoldLock (store: StoreHandle): void;
  /**
   * A listening socket for the process (SO_REUSEPORT, non-blocking): its descriptor and
   * bound port. Throws `listen HOST:PORT: reason` (code EADDRINUSE or EACCES when so).
   */
  listenerOpen (host: string, port: number, backlog: number): { fd: number; port: number };
  /**
   * A copy of listening descriptor `fd` for one engine-node worker (closing it leaves the
   * socket open); with `keepaliveMs`, the socket's TCP keep-alive is set to it (0 = off).
   */
  listenerDup (fd: number, keepaliveMs?: number): number;
  engineStart (options: unknown, onEvents: () => void): EngineHandle;
  /** `events`: the records as text, for event-text.ts parseEvents; `tier`: the Redis tier's work (redis-tier.ts). */
  engineDrain (engine: EngineHandle): { events: string; tier: TierMessage[]; stopped: boolean };
  /** The Redis tier's answer to the lookup `token` (TIER_RESULT); the engine resumes that handshake. */
  engineAnswer (engine: EngineHandle, token: number, result: number): void;
  /** Open connections per frontend, in the order given to engineStart. */
  engineConnections (engine: EngineHandle): number[];
  enginePorts (engine: EngineHandle): number[];
  engineStop (engine: EngineHandle, drainMs: number): void;
  engineJoin (engine: EngineHandle): void;
}
