// What a pass-through connection's hellos say about its session: what a ClientHello
// looks up in the stick table and what a backend's answer teaches it. Pure functions:
// the persistence rules in one place. Which cases can stick at all, and why:
// docs/passthrough.md. The table's key format is balancer/stick-keys.ts.
import { stickKey, type StickKey } from '../balancer/stick-keys.ts';
import { MAX_STATEFUL_ID, offeredTicketKeyName, type ClientHello } from '../tls/client-hello.ts';
import type { ServerHello } from '../tls/server-hello.ts';
import { TICKET_KEY_NAME_BYTES } from '../tls/ticket-key.ts';

const TLS12 = 0x0303;
const TLS13 = 0x0304;

/**
 * What a ClientHello offers that the table may know, most precise first: the TLS 1.2
 * session id (a TLS 1.3 client's legacy id is random and simply misses, but a TLS 1.3
 * capable client resuming a TLS 1.2 session sends the real one), each TLS 1.3 PSK
 * identity, then the ticket's key name (shared by every ticket one backend issues).
 */
export function lookupsFor (hello: ClientHello): StickKey[] {
  const out: StickKey[] = [];
  if (hello.sessionId.length > 0) out.push(stickKey('id', hello.sessionId));
  for (const identity of hello.pskIdentities) out.push(stickKey('psk', identity));
  const keyName = offeredTicketKeyName(hello);
  if (keyName !== undefined) out.push(stickKey('key_name', keyName));
  return out;
}

/** True when the hello offers a session at all (a miss is only a miss then). */
export function offersSession (hello: ClientHello): boolean {
  return hello.sessionId.length > 0 || hello.pskIdentities.length > 0 || (hello.sessionTicket?.length ?? 0) > 0;
}

export function versionName (version: number): string {
  switch (version) {
    case TLS13: return 'TLSv1.3';
    case TLS12: return 'TLSv1.2';
    case 0x0302: return 'TLSv1.1';
    case 0x0301: return 'TLSv1';
    default: return `0x${version.toString(16).padStart(4, '0')}`;
  }
}

/** The PSK the server accepted, when it accepted one (TLS 1.3). */
export function acceptedPsk (client: ClientHello, server: ServerHello): Buffer | undefined {
  if (server.version !== TLS13 || server.selectedPsk === undefined) return undefined;
  return client.pskIdentities[server.selectedPsk];
}

/**
 * What the ServerHello teaches: a TLS 1.2 session id the server will resume (new, or
 * the offered one again), a TLS 1.3 PSK identity the server accepted, and the key name of
 * an accepted ticket. A TLS 1.3 full handshake teaches nothing: its tickets are
 * encrypted (the probe and the next accepted PSK fill that gap).
 */
export function learnedFromServerHello (client: ClientHello, server: ServerHello): StickKey[] {
  const out: StickKey[] = [];
  if (server.isHelloRetryRequest) return out;
  if (server.version === TLS13) {
    const psk = acceptedPsk(client, server);
    if (psk === undefined) return out;
    out.push(stickKey('psk', psk));
    // OpenSSL's stateless tickets start with the 16-byte name of the key that sealed them.
    if (psk.length > MAX_STATEFUL_ID) out.push(stickKey('key_name', psk.subarray(0, TICKET_KEY_NAME_BYTES)));
    return out;
  }
  if (server.sessionId.length > 0) {
    out.push(stickKey('id', server.sessionId));
    // RFC 5077 §3.4: a server accepting a ticket echoes the client's session id.
    const keyName = client.sessionTicket !== undefined ? offeredTicketKeyName(client) : undefined;
    if (keyName !== undefined && server.sessionId.equals(client.sessionId)) out.push(stickKey('key_name', keyName));
  }
  return out;
}

/** How the backend resumed, as the terminator names it (`warmshake_handshakes_total{method}`). */
export function resumeMethod (client: ClientHello, server: ServerHello, resumed: boolean): 'id' | 'ticket' | 'stateful_ticket' | 'none' {
  if (!resumed) return 'none';
  if (server.version === TLS13) return (acceptedPsk(client, server)?.length ?? 0) > MAX_STATEFUL_ID ? 'ticket' : 'stateful_ticket';
  return (client.sessionTicket?.length ?? 0) > 0 ? 'ticket' : 'id';
}
