// What a ClientHello offers for resumption, what to look up for it, and what the
// outcome was called afterwards. Pure functions: the rules in one place, testable.
import type { MissCause, ResumeMethod } from '../diagnostics.ts';
import { offeredStatefulId, offeredTicketKeyName, offersTls13, type ClientHello } from './client-hello.ts';

export type Offer =
  | { kind: 'none' }
  /** TLS 1.2 session id: look it up. */
  | { kind: 'id'; key: Buffer }
  /** TLS 1.3 PSK identity of OpenSSL's stateful ticket: look it up by the identity. */
  | { kind: 'stateful_ticket'; key: Buffer }
  /** A stateless ticket (TLS 1.2 extension or TLS 1.3 PSK): OpenSSL decrypts it. */
  | { kind: 'ticket'; keyName: Buffer };

/**
 * What the client offers, given the highest version this frontend speaks. A TLS 1.3
 * client's legacy session id is random (RFC 8446 §4.1.2), so it is only looked up when
 * the handshake will be TLS 1.2: otherwise every TLS 1.3 handshake would cost a
 * certain miss, and a Redis round trip.
 */
export function offerOf (hello: ClientHello, maxVersion: string): Offer {
  const tls13 = maxVersion === 'TLSv1.3' && offersTls13(hello);
  if (tls13) {
    const id = offeredStatefulId(hello);
    if (id) return { kind: 'stateful_ticket', key: id };
    const keyName = hello.pskIdentities.length > 0 ? offeredTicketKeyName(hello) : undefined;
    return keyName ? { kind: 'ticket', keyName } : { kind: 'none' };
  }
  if (hello.sessionTicket && hello.sessionTicket.length > 0) {
    const keyName = offeredTicketKeyName(hello);
    if (keyName) return { kind: 'ticket', keyName };
  }
  return hello.sessionId.length > 0 ? { kind: 'id', key: hello.sessionId } : { kind: 'none' };
}

export interface Outcome {
  method: ResumeMethod;
  miss?: MissCause;
}

/**
 * Names the outcome once the handshake is done. `lookupMiss` is the cache's verdict
 * (when a lookup was made); `knownKey` whether the offered ticket's key was in the ring.
 */
export function outcomeOf (offer: Offer, resumed: boolean, lookupMiss: MissCause | undefined, knownKey: boolean): Outcome {
  if (resumed) return { method: offer.kind === 'none' ? 'id' : offer.kind };
  switch (offer.kind) {
    case 'none': return { method: 'none' };
    case 'ticket': return { method: 'none', miss: knownKey ? 'ticket_rejected' : 'unknown_ticket_key' };
    default: return { method: 'none', miss: lookupMiss ?? 'rejected' };
  }
}

export function describeOffer (offer: Offer): string | undefined {
  switch (offer.kind) {
    case 'none': return undefined;
    case 'ticket': return `ticket key ${offer.keyName.toString('hex')}`;
    default: return `${offer.kind === 'id' ? 'session id' : 'stateful ticket'} ${offer.key.toString('hex')}`;
  }
}
