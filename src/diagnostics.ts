// Everything worth counting or logging is published on diagnostics_channel (undici's
// lib/core/diagnostics.js); metrics and logs subscribe, the TLS path stays free of both.
import diagnostics from 'node:diagnostics_channel';

/** Upper bounds (seconds) of the handshake-duration histogram buckets: observe.ts counts in them, the native engine too. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export type ResumeMethod = 'id' | 'ticket' | 'stateful_ticket' | 'none';

/** Why an offered session did not resume. */
export type MissCause =
  | 'unknown'            // no such session id / stateful ticket in the cache
  | 'expired'            // found, but past its lifetime
  | 'wrong_sni'          // made for another SNI or frontend (RFC 6066 §3)
  | 'store_timeout'      // the Redis tier did not answer in time
  | 'store_error'        // the Redis tier failed or its breaker is open
  | 'unknown_ticket_key' // the ticket's key name is not in the ring (rotated out, or another cluster)
  | 'ticket_rejected'    // key known, OpenSSL refused the ticket (expired, other certificate)
  | 'rejected';          // found in the cache, OpenSSL refused it (cipher or version changed)

export interface HandshakeEvent {
  frontend: string;
  client: string;
  sni: string;
  version: string;
  cipher: string;
  alpn: string;
  resumed: boolean;
  method: ResumeMethod;
  /** Set when the client offered a session that did not resume. */
  miss?: MissCause;
  /** The session id, PSK identity or ticket key name offered, hex, for the log. */
  offered?: string;
  /** ms from accept to handshake done. */
  duration: number;
  /** Set by the native engine (engine node leaves it out). */
  engine?: 'native';
}

export interface ConnectionErrorEvent {
  frontend: string;
  client: string;
  /** Stage at which it failed. */
  stage: 'access' | 'limit' | 'client_hello' | 'handshake' | 'timeout' | 'backend' | 'proxy' | 'shutdown';
  reason: string;
  /** Set by the native engine, which counts its events itself (native/counters.ts). */
  engine?: 'native';
}

export interface SessionStoredEvent {
  frontend: string;
  client: string;
  stored: boolean;
  /** Why it was not stored (oversize, client over its new-session budget). */
  reason?: string;
  /** Set by the native engine, which counts its events itself (native/counters.ts). */
  engine?: 'native';
}

/** What a pass-through stick-table entry is keyed by (stick-keys.ts). */
export type StickKind = 'id' | 'psk' | 'key_name';

/**
 * A pass-through stick-table decision or update. `hit`: the connection went to the server
 * the table named; `miss`: the client offered a session but the table named no usable
 * server (`reason`), so the fallback algorithm chose; `learn`: an entry was written.
 */
export interface StickEvent {
  frontend: string;
  client: string;
  action: 'hit' | 'miss' | 'learn';
  kind?: StickKind;
  server?: string;
  /** miss: unknown (nothing stored), server_down, server_unknown (not in this backend), connect_failed, store_error. */
  reason?: 'unknown' | 'server_down' | 'server_unknown' | 'connect_failed' | 'store_error';
  /** learn: from a client's ServerHello/flight, or from warmshake's own probe handshake. */
  source?: 'flight' | 'probe';
  /** First bytes of the key, hex, for the log. */
  key?: string;
}

/** A TLS handshake warmshake made as a client to a backend server (mode terminate, `servers[].tls`). */
export interface BackendHandshakeEvent {
  backend: string;
  server: string;
  /** A cached session was offered, and whether the server resumed it. */
  offered: boolean;
  resumed: boolean;
  version: string;
  /** ms from the start of the TLS handshake to done. */
  duration: number;
}

export const channels = {
  handshake: diagnostics.channel('warmshake:tls:handshake'),
  connectionError: diagnostics.channel('warmshake:connection:error'),
  sessionStored: diagnostics.channel('warmshake:session:stored'),
  stick: diagnostics.channel('warmshake:stick'),
  backendHandshake: diagnostics.channel('warmshake:backend:handshake'),
};
