// The ServerHello, read in pass-through mode without decrypting: what the backend chose
// tells the stick table what to learn (a TLS 1.2 session id, or that a TLS 1.3 PSK was
// accepted). Same rules as the ClientHello parser: strict, bounded, never throws.
import {
  ByteReader, DEFAULT_HELLO_LIMITS, hex16, parseHello, readExtensions, readHelloHead,
  type HelloLimits, type HelloResult
} from './records.ts';

export interface ServerHello {
  legacyVersion: number;
  /** Negotiated: supported_versions when present, else legacyVersion. */
  version: number;
  random: Buffer;
  sessionId: Buffer;
  cipherSuite: number;
  compressionMethod: number;
  /** The random is RFC 8446's HelloRetryRequest constant. */
  isHelloRetryRequest: boolean;
  /** pre_shared_key in a ServerHello: the server accepted the client's PSK #n. */
  selectedPsk?: number;
  /** TLS 1.2: the server will send a NewSessionTicket. */
  hasSessionTicketExt: boolean;
  /** TLS 1.2 only (TLS 1.3 moves ALPN into the encrypted extensions). */
  alpn?: string;
  /** The key share group (ServerHello) or the group asked for (HelloRetryRequest). */
  keyShareGroup?: number;
  /** In order, for logging and fingerprinting. */
  extensionTypes: number[];
  /** Records the message was spread over. */
  records: number;
}

const HANDSHAKE_SERVER_HELLO = 2;
const TLS13 = 0x0304;
/** RFC 8446 §4.1.3: SHA-256("HelloRetryRequest"). */
export const HELLO_RETRY_REQUEST_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
const EXT = { alpn: 16, sessionTicket: 35, preSharedKey: 41, supportedVersions: 43, keyShare: 51 } as const;

export function parseServerHello (buf: Buffer, limits: HelloLimits = DEFAULT_HELLO_LIMITS): HelloResult<ServerHello> {
  // RFC 8446 §5.1: in TLS 1.3 the ServerHello precedes a key change, so it ends its
  // record; in TLS 1.2 the Certificate and the rest of the flight often share it.
  return parseHello(buf, HANDSHAKE_SERVER_HELLO, limits, parseBody, (hello, trailing) =>
    hello.version === TLS13 ? `${trailing} bytes follow the TLS 1.3 ServerHello in its record` : undefined);
}

function parseBody (body: Buffer, records: number): ServerHello | string {
  const r = new ByteReader(body);
  const head = readHelloHead(r, 'ServerHello');
  if (typeof head === 'string') return head;
  const { legacyVersion, random, sessionId } = head;
  const cipherSuite = r.uint(2);
  const compressionMethod = r.uint(1);
  if (cipherSuite < 0 || compressionMethod < 0) return 'cipher suite or compression method runs past the end';

  const hello: ServerHello = {
    legacyVersion,
    version: legacyVersion,
    random,
    sessionId,
    cipherSuite,
    compressionMethod,
    isHelloRetryRequest: random.equals(HELLO_RETRY_REQUEST_RANDOM),
    hasSessionTicketExt: false,
    extensionTypes: [],
    records
  };
  const problem = readExtensions(r, hello.extensionTypes, (type, data) => {
    const wrong = parseExtension(hello, type, data);
    return wrong === undefined ? undefined : `extension ${hex16(type)}: ${wrong}`;
  });
  if (problem !== undefined) return problem;
  return hello;
}

function parseExtension (hello: ServerHello, type: number, r: ByteReader): string | undefined {
  switch (type) {
    case EXT.supportedVersions:
      if (r.length !== 2) return `length ${r.length}, expected 2`;
      hello.version = r.uint(2);
      return undefined;
    case EXT.preSharedKey:
      if (r.length !== 2) return `length ${r.length}, expected 2`;
      hello.selectedPsk = r.uint(2);
      return undefined;
    case EXT.sessionTicket:
      if (r.length !== 0) return 'session_ticket in a ServerHello must be empty';
      hello.hasSessionTicketExt = true;
      return undefined;
    case EXT.alpn: {
      const list = r.sub(2);
      const name = list?.latin1(1);
      // RFC 7301 §3.1: the server answers with exactly one protocol.
      if (list === undefined || name === undefined || r.remaining > 0 || list.remaining > 0) return 'not exactly one protocol name';
      if (name.length === 0) return 'empty protocol name';
      hello.alpn = name;
      return undefined;
    }
    case EXT.keyShare: {
      hello.keyShareGroup = r.uint(2);
      if (hello.keyShareGroup < 0) return 'group runs past the end';
      // A HelloRetryRequest names only the group; a ServerHello adds its share.
      if (hello.isHelloRetryRequest) return r.remaining === 0 ? undefined : 'trailing bytes after the group';
      const key = r.sub(2);
      if (key === undefined || r.remaining > 0) return 'key exchange length does not match';
      if (key.length === 0) return 'empty key share';
      return undefined;
    }
    default:
      return undefined;
  }
}
