// Node takes one ticket key per SecureContext, so warmshake keeps one context per
// (certificate, ticket key) and picks it from the ClientHello: the SNI picks the
// certificate, the ticket's key name picks the key. That is how old keys keep
// decrypting after a rotation while the newest encrypts.
import { constants, createHash, hkdfSync } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureVersion } from 'node:tls';
import type { LoadedCertificate } from './certificates.ts';
import { TICKET_KEY_NAME_BYTES, type TicketKey, type TicketKeySource } from './ticket-key.ts';

export interface ContextChoice {
  context: SecureContext;
  /** False when the client offered a ticket whose key is not in the ring. */
  knownKey: boolean;
}

/** Same on every thread and node for one frontend, so sessions move between them; differs between frontends. */
export function sessionIdContext (frontend: string): string {
  return createHash('sha256').update(`warmshake:${frontend}`).digest('hex').slice(0, 32);
}

/**
 * A ticket made under one certificate does not decrypt under another: the ring key is
 * stretched per frontend and certificate (RFC 8446 §4.6.1 lets a client resume only
 * where the original certificate is valid; this makes the server agree).
 */
export function boundTicketKey (key: TicketKey, frontend: string, certificate: LoadedCertificate): Buffer {
  const name = key.bytes.subarray(0, TICKET_KEY_NAME_BYTES);
  const secrets = hkdfSync('sha256', key.bytes.subarray(TICKET_KEY_NAME_BYTES), name,
    Buffer.concat([Buffer.from(`warmshake ticket ${frontend} `), certificate.fingerprint]), 32);
  return Buffer.concat([name, Buffer.from(secrets)]);
}

/** What the contexts of a frontend are made from (a frontend's config is one). */
export interface ContextSettings {
  name: string;
  min_version: SecureVersion;
  max_version: SecureVersion;
  /** TLS 1.2 cipher list and TLS 1.3 suites, OpenSSL syntax. */
  ciphers: string;
  ciphersuites: string;
}

export class ContextPool {
  #frontend: ContextSettings;
  #certificates: readonly LoadedCertificate[];
  #tickets: { enabled: boolean };
  #lifetimeSeconds: number;
  #keys: TicketKeySource;
  #generation = -1;
  #byName = new Map<string, TicketKey>();
  #current: TicketKey | undefined;
  /** Index `certificate` → key name hex → context. */
  #contexts: Map<string, SecureContext>[];

  constructor (frontend: ContextSettings, certificates: readonly LoadedCertificate[], tickets: { enabled: boolean }, lifetimeMs: number, keys: TicketKeySource) {
    this.#frontend = frontend;
    this.#certificates = certificates;
    this.#tickets = tickets;
    this.#lifetimeSeconds = Math.max(1, Math.floor(lifetimeMs / 1000));
    this.#keys = keys;
    this.#contexts = certificates.map(() => new Map());
    // Build what the first handshake needs now, so a bad cipher string or key fails at start.
    certificates.forEach((_, i) => this.choose(i, undefined));
  }

  /** The context for certificate `index` that can decrypt a ticket named `keyName` (if any). */
  choose (index: number, keyName: Buffer | undefined): ContextChoice {
    if (!this.#tickets.enabled) return { context: this.#context(index, undefined, ''), knownKey: true };
    this.#refresh();
    const name = keyName?.toString('hex');
    const key = name === undefined ? undefined : this.#byName.get(name);
    const chosen = key ?? this.#current;
    return { context: this.#context(index, chosen, chosen ? chosen.bytes.toString('hex', 0, TICKET_KEY_NAME_BYTES) : ''), knownKey: keyName === undefined || key !== undefined };
  }

  #refresh (): void {
    const generation = this.#keys.generation();
    if (generation === this.#generation) return;
    this.#generation = generation;
    const ring = this.#keys.keys();
    this.#current = ring[0];
    this.#byName = new Map(ring.map((k) => [k.bytes.toString('hex', 0, TICKET_KEY_NAME_BYTES), k]));
    for (const contexts of this.#contexts) {
      for (const name of contexts.keys()) if (!this.#byName.has(name)) contexts.delete(name);
    }
  }

  #context (index: number, key: TicketKey | undefined, name: string): SecureContext {
    const cached = this.#contexts[index].get(name);
    if (cached) return cached;
    const f = this.#frontend;
    const certificate = this.#certificates[index];
    const context = createSecureContext({
      cert: certificate.cert,
      key: certificate.key,
      minVersion: f.min_version,
      maxVersion: f.max_version,
      // Node takes both lists in one string; entries starting with TLS_ are the TLS 1.3 suites.
      ciphers: `${f.ciphersuites}:${f.ciphers}`,
      honorCipherOrder: true,
      sessionIdContext: sessionIdContext(f.name),
      // Ticket lifetime hint and OpenSSL's own expiry check of resumed sessions.
      sessionTimeout: this.#lifetimeSeconds,
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION | (this.#tickets.enabled ? 0 : constants.SSL_OP_NO_TICKET),
      ...(key ? { ticketKeys: boundTicketKey(key, f.name, certificate) } : {}),
    });
    this.#contexts[index].set(name, context);
    return context;
  }
}
