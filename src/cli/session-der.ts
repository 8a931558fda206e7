// Reads the few fields the probe shows out of a serialized client session.
// Node's `getSession()` / 'session' event hand back OpenSSL's SSL_SESSION in DER
// (ssl/ssl_asn1.c, SSL_SESSION_ASN1): SEQUENCE { version, ssl_version, cipher,
// session_id, master_key, ... [9] ticket lifetime hint, [10] ticket, ... }.
// Node 24 puts a small header of its own in front ("\0nodejs:tls:session:1\0", the
// host), so the DER is found as the SEQUENCE that runs exactly to the end of the buffer.
// A tiny DER walk is enough; nothing here trusts the input, a malformed buffer gives
// an empty summary.

export interface SessionSummary {
  /** The session id as OpenSSL stores it (for a ticket session OpenSSL fills it with a hash of the ticket). */
  sessionId: Buffer | undefined;
  /** The ticket, when the server issued one. */
  ticket: Buffer | undefined;
  /** Seconds the server says the ticket lives. */
  ticketLifetimeHint: number | undefined;
}

interface Tlv { tag: number; start: number; end: number; next: number }

const SEQUENCE = 0x30;
const OCTET_STRING = 0x04;
const INTEGER = 0x02;
const CTX_LIFETIME_HINT = 0xa9; // [9] EXPLICIT, constructed
const CTX_TICKET = 0xaa; // [10] EXPLICIT, constructed

function readTlv (der: Buffer, offset: number, limit: number): Tlv | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = der[offset];
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    // Four length octets is far beyond any session; more means garbage.
    if (octets === 0 || octets > 4 || start + octets > limit) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i];
    start += octets;
  }
  const end = start + length;
  if (end > limit) return undefined;
  return { tag, start, end, next: end };
}

function readUint (der: Buffer, tlv: Tlv): number | undefined {
  if (tlv.tag !== INTEGER || tlv.end - tlv.start > 6) return undefined;
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) value = value * 256 + der[i];
  return value;
}

// Far more than any header Node adds (magic string plus a host name of at most 255 bytes).
const MAX_HEADER = 512;

function findSession (data: Buffer): Tlv | undefined {
  for (let offset = 0; offset < Math.min(MAX_HEADER, data.length); offset++) {
    if (data[offset] !== SEQUENCE) continue;
    const tlv = readTlv(data, offset, data.length);
    if (tlv !== undefined && tlv.end === data.length) return tlv;
  }
  return undefined;
}

export function summarizeSession (der: Buffer | undefined): SessionSummary {
  const summary: SessionSummary = { sessionId: undefined, ticket: undefined, ticketLifetimeHint: undefined };
  if (der === undefined) return summary;
  const outer = findSession(der);
  if (outer === undefined) return summary;
  let offset = outer.start;
  for (let index = 0; offset < outer.end; index++) {
    const field = readTlv(der, offset, outer.end);
    if (field === undefined) break;
    if (index === 3 && field.tag === OCTET_STRING) {
      summary.sessionId = der.subarray(field.start, field.end);
    } else if (field.tag === CTX_TICKET) {
      const inner = readTlv(der, field.start, field.end);
      if (inner?.tag === OCTET_STRING) summary.ticket = der.subarray(inner.start, inner.end);
    } else if (field.tag === CTX_LIFETIME_HINT) {
      const inner = readTlv(der, field.start, field.end);
      if (inner !== undefined) summary.ticketLifetimeHint = readUint(der, inner);
    }
    offset = field.next;
  }
  return summary;
}
