// The ClientHello, read before the socket is handed to Node's TLS: its SNI picks the
// certificate, its ticket's key name picks the SecureContext, and its TLS 1.3 PSK
// identity is the session-cache key for stateful tickets, which Node's own hook cannot
// see (nodejs/node#60847). Strict about structure (RFC 8446 §4.1.2, §4.2), lenient about
// values it does not use (unknown extensions, GREASE).
import {
  ByteReader, DEFAULT_HELLO_LIMITS, hex16, parseHello, readExtensions, readHelloHead,
  type HelloLimits, type HelloResult
} from './records.ts';

export type { HelloLimits, HelloResult } from './records.ts';
export { DEFAULT_HELLO_LIMITS } from './records.ts';

export interface ClientHello {
  legacyVersion: number;
  random: Buffer;
  sessionId: Buffer;
  cipherSuites: number[];
  compressionMethods: number[];
  /** host_name from server_name, lowercased; absent if none. */
  serverName?: string;
  /** Protocol names in the client's order. */
  alpn: string[];
  /** From supported_versions (0x0304 = TLS 1.3); empty if the extension is absent. */
  supportedVersions: number[];
  supportedGroups: number[];
  /** Groups the client sent a key share for, in order. */
  keyShareGroups: number[];
  signatureAlgorithms: number[];
  /** session_ticket (35) present. */
  hasSessionTicketExt: boolean;
  /** The TLS 1.2 ticket, when session_ticket is not empty. */
  sessionTicket?: Buffer;
  /** pre_shared_key (41) identities, in order. */
  pskIdentities: Buffer[];
  pskKeyExchangeModes: number[];
  earlyData: boolean;
  /** In order, for logging and fingerprinting. */
  extensionTypes: number[];
  /** Records the message was spread over. */
  records: number;
}

export const EXT = {
  serverName: 0, supportedGroups: 10, signatureAlgorithms: 13, alpn: 16, sessionTicket: 35,
  preSharedKey: 41, earlyData: 42, supportedVersions: 43, pskKeyExchangeModes: 45, keyShare: 51
} as const;

const TLS13 = 0x0304;
const HANDSHAKE_CLIENT_HELLO = 1;
/** OpenSSL's stateful TLS 1.3 ticket is the session id (SSL_MAX_SSL_SESSION_ID_LENGTH). */
export const MAX_STATEFUL_ID = 32;
const TICKET_KEY_NAME_BYTES = 16;

export function parseClientHello (buf: Buffer, limits: HelloLimits = DEFAULT_HELLO_LIMITS): HelloResult<ClientHello> {
  // RFC 8446 §5.1: a ClientHello may precede a key change, so it must end its record.
  return parseHello(buf, HANDSHAKE_CLIENT_HELLO, limits, parseBody, (_, trailing) => `${trailing} bytes follow the ClientHello in its record`);
}

/** The ClientHello fields, or why they are malformed. */
function parseBody (body: Buffer, records: number): ClientHello | string {
  const r = new ByteReader(body);
  const head = readHelloHead(r, 'ClientHello');
  if (typeof head === 'string') return head;
  const { legacyVersion, random, sessionId } = head;
  const suites = r.sub(2);
  if (suites === undefined) return 'cipher suites run past the end';
  const cipherSuites = suites.uint16s();
  if (cipherSuites === undefined || cipherSuites.length === 0) return `cipher suites length ${suites.length} is not a non-zero even number`;
  const compression = r.sub(1);
  if (compression === undefined) return 'compression methods run past the end';
  if (compression.length === 0) return 'no compression methods';

  const hello: ClientHello = {
    legacyVersion,
    random,
    sessionId,
    cipherSuites,
    compressionMethods: compression.uint8s(),
    alpn: [],
    supportedVersions: [],
    supportedGroups: [],
    keyShareGroups: [],
    signatureAlgorithms: [],
    hasSessionTicketExt: false,
    pskIdentities: [],
    pskKeyExchangeModes: [],
    earlyData: false,
    extensionTypes: [],
    records
  };
  const problem = readExtensions(r, hello.extensionTypes, (type, data, last) => {
    // RFC 8446 §4.2.11: the binders cover everything before them, so nothing may follow.
    if (type === EXT.preSharedKey && !last) return 'pre_shared_key is not the last extension';
    const wrong = parseExtension(hello, type, data);
    return wrong === undefined ? undefined : `extension ${hex16(type)}: ${wrong}`;
  });
  if (problem !== undefined) return problem;
  const types = hello.extensionTypes;
  // RFC 8446 §4.2.9: a server must abort on a PSK offered without its key exchange modes.
  if (types.includes(EXT.preSharedKey) && !types.includes(EXT.pskKeyExchangeModes)) return 'pre_shared_key without psk_key_exchange_modes';
  return hello;
}

/** Fills in `hello` from one extension; returns what is wrong with it, if anything. */
function parseExtension (hello: ClientHello, type: number, r: ByteReader): string | undefined {
  switch (type) {
    case EXT.serverName: return parseServerName(hello, r);
    case EXT.alpn: {
      const names = r.sub(2);
      if (names === undefined || r.remaining > 0) return 'list length does not match';
      if (names.length === 0) return 'empty protocol list';
      while (names.remaining > 0) {
        const name = names.latin1(1);
        if (name === undefined) return 'protocol name runs past the end';
        if (name.length === 0) return 'empty protocol name';
        hello.alpn.push(name);
      }
      return undefined;
    }
    case EXT.supportedVersions: {
      const list = r.sub(1);
      if (list === undefined || r.remaining > 0) return 'list length does not match';
      const versions = list.uint16s();
      if (versions === undefined || versions.length === 0) return `list length ${list.length} is not a non-zero even number`;
      hello.supportedVersions = versions;
      return undefined;
    }
    case EXT.supportedGroups:
    case EXT.signatureAlgorithms: {
      const list = r.sub(2);
      if (list === undefined || r.remaining > 0) return 'list length does not match';
      const values = list.uint16s();
      if (values === undefined || values.length === 0) return `list length ${list.length} is not a non-zero even number`;
      if (type === EXT.supportedGroups) hello.supportedGroups = values;
      else hello.signatureAlgorithms = values;
      return undefined;
    }
    case EXT.keyShare: {
      const shares = r.sub(2);
      if (shares === undefined || r.remaining > 0) return 'list length does not match';
      while (shares.remaining > 0) {
        const group = shares.uint(2);
        const key = shares.sub(2);
        if (key === undefined) return 'key share runs past the end';
        if (key.length === 0) return 'empty key share';
        hello.keyShareGroups.push(group);
      }
      return undefined;
    }
    case EXT.sessionTicket:
      hello.hasSessionTicketExt = true;
      if (r.length > 0) hello.sessionTicket = r.bytes(r.remaining);
      return undefined;
    case EXT.preSharedKey: return parsePreSharedKey(hello, r);
    case EXT.pskKeyExchangeModes: {
      const list = r.sub(1);
      if (list === undefined || r.remaining > 0) return 'list length does not match';
      if (list.length === 0) return 'empty mode list';
      hello.pskKeyExchangeModes = list.uint8s();
      return undefined;
    }
    case EXT.earlyData:
      if (r.length > 0) return 'early_data in a ClientHello must be empty';
      hello.earlyData = true;
      return undefined;
    default:
      return undefined;
  }
}

function parseServerName (hello: ClientHello, r: ByteReader): string | undefined {
  const names = r.sub(2);
  if (names === undefined || r.remaining > 0) return 'list length does not match';
  if (names.length === 0) return 'empty server name list';
  while (names.remaining > 0) {
    const nameType = names.uint(1);
    const name = names.latin1(2);
    if (name === undefined) return 'server name runs past the end';
    if (nameType !== 0) continue;
    // RFC 6066 §3: at most one name of each type.
    if (hello.serverName !== undefined) return 'more than one host_name';
    const problem = checkHostName(name);
    if (problem !== undefined) return problem;
    hello.serverName = name.toLowerCase();
  }
  return undefined;
}

/**
 * RFC 6066 §3: a host name is ASCII, without a trailing dot. It picks a certificate and a
 * session's SNI binding and lands in logs, so control bytes and spaces are refused too.
 * `name` is latin1, one char per byte.
 */
function checkHostName (name: string): string | undefined {
  if (name.length === 0) return 'empty host_name';
  if (name.length > 255) return `host_name length ${name.length} exceeds 255`;
  for (let i = 0; i < name.length; i++) {
    const b = name.charCodeAt(i);
    if (b <= 0x20 || b >= 0x7f) return `host_name contains byte 0x${b.toString(16).padStart(2, '0')}`;
  }
  if (name.endsWith('.')) return 'host_name ends with a dot';
  return undefined;
}

function parsePreSharedKey (hello: ClientHello, r: ByteReader): string | undefined {
  const ids = r.sub(2);
  if (ids === undefined) return 'identities run past the end';
  const binders = r.sub(2);
  if (binders === undefined || r.remaining > 0) return 'binders length does not match';
  while (ids.remaining > 0) {
    const identity = ids.vector(2);
    if (identity === undefined || ids.uint(4) < 0) return 'identity runs past the end';
    if (identity.length === 0) return 'empty identity';
    hello.pskIdentities.push(identity);
  }
  if (hello.pskIdentities.length === 0) return 'no identities';
  let count = 0;
  while (binders.remaining > 0) {
    const binder = binders.sub(1);
    if (binder === undefined) return 'binder runs past the end';
    if (binder.length < 32) return `binder length ${binder.length} is under 32`;
    count++;
  }
  // RFC 8446 §4.2.11: one binder per identity, in the same order.
  if (count !== hello.pskIdentities.length) return `${hello.pskIdentities.length} identities but ${count} binders`;
  return undefined;
}

/** True when the hello offers TLS 1.3. */
export function offersTls13 (hello: ClientHello): boolean {
  return hello.supportedVersions.includes(TLS13);
}

/**
 * The 16-byte key name of the ticket this hello offers: the first TLS 1.3 PSK identity
 * longer than 32 bytes (a stateless ticket, which OpenSSL starts with its key name), or
 * else the TLS 1.2 session_ticket data; undefined when none. The PSK comes first because
 * a server that picks TLS 1.3 ignores session_ticket.
 */
export function offeredTicketKeyName (hello: ClientHello): Buffer | undefined {
  if (offersTls13(hello)) {
    const stateless = hello.pskIdentities.find((id) => id.length > MAX_STATEFUL_ID);
    if (stateless !== undefined) return stateless.subarray(0, TICKET_KEY_NAME_BYTES);
  }
  const ticket = hello.sessionTicket;
  return ticket !== undefined && ticket.length >= TICKET_KEY_NAME_BYTES ? ticket.subarray(0, TICKET_KEY_NAME_BYTES) : undefined;
}

/** The first TLS 1.3 PSK identity of at most 32 bytes: OpenSSL's stateful ticket, which equals the session id the server stored. */
export function offeredStatefulId (hello: ClientHello): Buffer | undefined {
  if (!offersTls13(hello)) return undefined;
  return hello.pskIdentities.find((id) => id.length <= MAX_STATEFUL_ID);
}
