// The TLS side of the session cache: the few callbacks that OpenSSL's external cache
// needs (HAProxy's sh_ssl_sess_*_cb). One small object per connection (node-tls.ts hands
// it to the TLSSocket), so each callback knows the connection it serves (its SNI, its
// client, the PSK identity read from its ClientHello).
import type { TLSSocket } from 'node:tls';
import type { MissCause } from '../diagnostics.ts';
import type { LookupResult, SessionStore } from '../session-cache/store.ts';
import { reloadSession, type SessionCallbacks } from './node-tls.ts';
import { decodeSessionRecord, encodeSessionRecord } from './session-record.ts';

export interface SessionPolicy {
  store: SessionStore;
  frontend: string;
  lifetime: number;
  ticketsEnabled: boolean;
  /** False when this client has used up its budget of new sessions (a flood must not evict everyone). */
  admitNewSession: (client: string) => boolean;
  onStored: (client: string, stored: boolean, reason?: string) => void;
}

const STORE_MISS: Record<string, MissCause> = { unknown: 'unknown', expired: 'expired', timeout: 'store_timeout', error: 'store_error' };

export class SessionHooks implements SessionCallbacks {
  #policy: SessionPolicy;
  #sni: string;
  #client: string;
  #lookupKey: Buffer | undefined;
  #psk: boolean;
  socket: TLSSocket | undefined;
  /** Why the cache lookup, when one was made, found nothing to resume. */
  miss: MissCause | undefined;

  /**
   * `lookupKey`: what to look up instead of Node's legacy session id (the TLS 1.3 PSK
   * identity), or undefined for no lookup; `psk`: it is a TLS 1.3 PSK identity, which
   * OpenSSL asks for again after a HelloRetryRequest.
   */
  constructor (policy: SessionPolicy, sni: string, client: string, lookupKey: Buffer | undefined, psk = false) {
    this.#policy = policy;
    this.#sni = sni;
    this.#client = client;
    this.#lookupKey = lookupKey;
    this.#psk = psk;
  }

  /** Node's legacy session id is not looked up: the key read from the ClientHello is. */
  resume (_id: Buffer, callback: Parameters<SessionCallbacks['resume']>[1]): void {
    const key = this.#lookupKey;
    if (key === undefined) { callback(null); return; }
    this.#policy.store.get(key).then((result) => {
      const session = this.#accept(result);
      callback(null, session);
      // For the second ClientHello after a HelloRetryRequest (node-tls.ts reloadSession).
      if (session && this.#psk && this.socket) reloadSession(this.socket, session);
    }, () => {
      this.miss = 'store_error';
      callback(null);
    });
  }

  #accept (result: LookupResult): Buffer | undefined {
    if (!result.value) {
      this.miss = STORE_MISS[result.miss ?? 'unknown'] ?? 'unknown';
      return undefined;
    }
    const record = decodeSessionRecord(result.value);
    if (!record) { this.miss = 'store_error'; return undefined; }
    if (record.frontend !== this.#policy.frontend || record.sni !== this.#sni) { this.miss = 'wrong_sni'; return undefined; }
    // Checked here as well as by the store: a Redis entry's expiry was set by another node's clock.
    if (Date.now() - record.created > this.#policy.lifetime) { this.miss = 'expired'; return undefined; }
    return record.session;
  }

  newSession (id: Buffer, session: Buffer, done: () => void): void {
    // Never hold the handshake on the store: the fast tier is written synchronously
    // inside set(), a slow tier after.
    done();
    // TLS 1.3 stateless tickets come with a dummy id that no client will ever present.
    if (this.#policy.ticketsEnabled && this.socket?.getProtocol() === 'TLSv1.3') return;
    const policy = this.#policy;
    if (!policy.admitNewSession(this.#client)) { policy.onStored(this.#client, false, 'client over its new-session budget'); return; }
    const record = encodeSessionRecord({ created: Date.now(), frontend: policy.frontend, sni: this.#sni, session });
    policy.store.set(id, record, policy.lifetime).then(
      (stored) => policy.onStored(this.#client, stored, stored ? undefined : 'not cached (too large or cache unavailable)'),
      (err: Error) => policy.onStored(this.#client, false, err.message));
  }
}
