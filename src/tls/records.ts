// The TLS record layer as far as a hello needs it: find one handshake message in the
// plaintext records at the start of a connection, reassembled across records and TCP
// reads. These bytes come from whoever connected, so every length is checked before it
// is used, nothing is read past a length, nothing larger than `maxBytes` is allocated,
// and failures are returned, never thrown (this runs on every new connection). Each
// failure names the alert a server answers it with (alerts.ts), or none when the peer
// does not speak TLS records at all.
import { ALERT, type AlertCode } from './alerts.ts';

export interface HelloLimits {
  /** Largest handshake message accepted (its 24-bit length). */
  maxBytes: number;
  /** Most records the message may be spread over. */
  maxRecords: number;
}

export const DEFAULT_HELLO_LIMITS: Readonly<HelloLimits> = Object.freeze({ maxBytes: 16384, maxRecords: 4 });

export type HelloResult<T> =
  | { status: 'incomplete' }
  | { status: 'error'; reason: string; alert: AlertCode | undefined }
  | { status: 'ok'; value: T; bytes: number };

/** RFC 8446 §5.1: a plaintext fragment is at most 2^14 bytes. */
export const MAX_RECORD_LENGTH = 16384;
export const RECORD_HEADER_BYTES = 5;
export const HANDSHAKE_HEADER_BYTES = 4;

const CONTENT_HANDSHAKE = 22;
const CONTENT_TYPES: Record<number, string> = {
  20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data', 24: 'heartbeat'
};
export const HANDSHAKE_NAMES: Record<number, string> = {
  0: 'HelloRequest', 1: 'ClientHello', 2: 'ServerHello', 4: 'NewSessionTicket', 5: 'EndOfEarlyData',
  8: 'EncryptedExtensions', 11: 'Certificate', 12: 'ServerKeyExchange', 13: 'CertificateRequest',
  14: 'ServerHelloDone', 15: 'CertificateVerify', 16: 'ClientKeyExchange', 20: 'Finished'
};

// What else lands on a TLS port, by its first bytes, so the log says what the peer was.
const NOT_TLS_SIGNATURES: ReadonlyArray<readonly [Buffer, string]> = [
  ...['GET ', 'POST', 'HEAD', 'PUT ', 'OPTI', 'CONN', 'PRI ', 'DELE', 'PATC', 'TRAC']
    .map((m) => [Buffer.from(m, 'latin1'), 'an HTTP request'] as const),
  [Buffer.from('PROXY ', 'latin1'), 'a PROXY protocol v1 header'],
  [Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1'), 'a PROXY protocol v2 header'],
  [Buffer.from('SSH-', 'latin1'), 'SSH']
];

const fail = (reason: string, alert: AlertCode | undefined): { status: 'error'; reason: string; alert: AlertCode | undefined } =>
  ({ status: 'error', reason, alert });

export const hex16 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;
const hex8 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

export function contentTypeName (type: number): string {
  return `${CONTENT_TYPES[type] ?? 'unknown'} (${type})`;
}

function handshakeName (type: number): string {
  return `${HANDSHAKE_NAMES[type] ?? 'unknown handshake message'} (${type})`;
}

/** Names what the first bytes are when they cannot start a TLS handshake; undefined when they can. */
function sniffFirstBytes (buf: Buffer): string | undefined {
  const b0 = buf[0];
  if (b0 === CONTENT_HANDSHAKE) return undefined;
  if ((b0 & 0x80) !== 0) {
    // SSLv2 framing: 2-byte length with the high bit set, then the message type (1 = CLIENT-HELLO).
    return buf.length >= 3 && buf[2] === 1 ? 'SSLv2 ClientHello is not supported' : `not TLS: first byte ${hex8(b0)}`;
  }
  for (const [signature, what] of NOT_TLS_SIGNATURES) {
    const n = Math.min(signature.length, buf.length);
    if (buf.subarray(0, n).equals(signature.subarray(0, n))) return `not TLS: looks like ${what}`;
  }
  if (b0 === 21 && buf.length >= 7) {
    return `expected a handshake record, got a TLS alert (level ${buf[5]}, description ${buf[6]})`;
  }
  if (CONTENT_TYPES[b0] !== undefined) return `expected a handshake record, got ${contentTypeName(b0)}`;
  return `not TLS: first byte ${hex8(b0)}`;
}

export interface HandshakeMessage {
  /** The message body (without its 4-byte header): a view into the input when it sits in one record, else a copy. */
  body: Buffer;
  /** Records the message was spread over. */
  records: number;
  /** Bytes that follow the message inside its last record (more handshake messages, or junk). */
  trailing: number;
}

/**
 * Reads one handshake message of type `msgType` from the records at the start of `buf`.
 * `bytes` on success counts input bytes through the message's last byte (record headers
 * included); it is the whole records when the message ends its record, as a hello does.
 * The message is returned as soon as its bytes are in, even if its last record is not.
 */
export function readHandshakeMessage (buf: Buffer, msgType: number, limits: HelloLimits = DEFAULT_HELLO_LIMITS): HelloResult<HandshakeMessage> {
  const what = HANDSHAKE_NAMES[msgType] ?? 'handshake message';
  if (buf.length === 0) return { status: 'incomplete' };
  const sniffed = sniffFirstBytes(buf);
  // A TLS record of another type is answered as OpenSSL does; HTTP, SSH, SSLv2 and the like get no TLS alert.
  if (sniffed !== undefined) return fail(sniffed, CONTENT_TYPES[buf[0]] !== undefined ? ALERT.unexpectedMessage : undefined);

  const fragments: Buffer[] = [];
  let gathered = 0;
  let msgLength = -1;
  let records = 0;
  let pos = 0;
  for (;;) {
    const available = buf.length - pos;
    // A record that has started must be a handshake record even before its header is whole.
    if (available > 0 && buf[pos] !== CONTENT_HANDSHAKE) {
      return fail(`${what} interrupted by a record of type ${contentTypeName(buf[pos])}`, ALERT.unexpectedMessage);
    }
    if (available > 1 && buf[pos + 1] !== 3) {
      return fail(`record version ${hex8(buf[pos + 1])}.. (major must be 3)`, undefined);
    }
    // Only reached while the message is unfinished, so any further record is one too many.
    if (records >= limits.maxRecords) return fail(`${what} spans more than ${limits.maxRecords} records`, ALERT.illegalParameter);
    if (available < RECORD_HEADER_BYTES) return { status: 'incomplete' };

    const length = (buf[pos + 3] << 8) | buf[pos + 4];
    if (length > MAX_RECORD_LENGTH) return fail(`record length ${length} exceeds ${MAX_RECORD_LENGTH}`, ALERT.recordOverflow);
    // RFC 8446 §5.1: handshake fragments are never empty; an endless run of them would be free to send.
    if (length === 0) return fail('empty handshake record', ALERT.decodeError);
    records++;
    const start = pos + RECORD_HEADER_BYTES;
    const end = Math.min(start + length, buf.length);
    const fragment = buf.subarray(start, end);
    fragments.push(fragment);
    gathered += fragment.length;

    // The type is the message's first byte: refuse a wrong one without waiting for the length.
    const type = fragments[0].length > 0 ? fragments[0][0] : msgType;
    if (type !== msgType) return fail(`expected ${handshakeName(msgType)}, got ${handshakeName(type)}`, ALERT.unexpectedMessage);
    if (msgLength < 0 && gathered >= HANDSHAKE_HEADER_BYTES) {
      const header = peek(fragments, HANDSHAKE_HEADER_BYTES);
      msgLength = (header[1] << 16) | (header[2] << 8) | header[3];
      if (msgLength > limits.maxBytes) return fail(`${what} length ${msgLength} exceeds ${limits.maxBytes}`, ALERT.illegalParameter);
    }
    const needed = msgLength < 0 ? -1 : HANDSHAKE_HEADER_BYTES + msgLength;
    if (needed >= 0 && gathered >= needed) {
      const usedOfLast = fragment.length - (gathered - needed);
      const body = assemble(fragments, HANDSHAKE_HEADER_BYTES, msgLength);
      return { status: 'ok', value: { body, records, trailing: length - usedOfLast }, bytes: start + usedOfLast };
    }
    // Declared lengths alone can show the message will not fit in the records allowed.
    const stillToCome = length - fragment.length;
    if (records >= limits.maxRecords && gathered + stillToCome < (needed >= 0 ? needed : HANDSHAKE_HEADER_BYTES)) {
      return fail(`${what} spans more than ${limits.maxRecords} records`, ALERT.illegalParameter);
    }
    if (end < start + length) return { status: 'incomplete' };
    pos = end;
  }
}

/** The first `n` bytes across fragments (n is small: the handshake header). */
function peek (fragments: Buffer[], n: number): number[] {
  const out: number[] = [];
  for (const f of fragments) {
    for (let i = 0; i < f.length && out.length < n; i++) out.push(f[i]);
    if (out.length === n) break;
  }
  return out;
}

/** Bytes [skip, skip + length) of the concatenated fragments; a view when one fragment holds them all. */
function assemble (fragments: Buffer[], skip: number, length: number): Buffer {
  const first = fragments[0];
  if (first.length >= skip + length) return first.subarray(skip, skip + length);
  const out = Buffer.alloc(length);
  let toSkip = skip;
  let written = 0;
  for (const f of fragments) {
    if (written === length) break;
    const from = Math.min(toSkip, f.length);
    toSkip -= from;
    written += f.copy(out, written, from, Math.min(f.length, from + (length - written)));
  }
  return out;
}

/**
 * A bounds-checked cursor over `[start, end)` of a buffer. Reads past the end return -1
 * (integers) or undefined (everything else) instead of throwing, and move nothing, so the
 * caller turns them into a reason. Nested vectors are read through sub-readers over the
 * same buffer, so only the fields a caller keeps become Buffer views (each view costs an
 * allocation, and this runs once per connection).
 */
export class ByteReader {
  readonly #buf: Buffer;
  readonly #start: number;
  readonly #end: number;
  #pos: number;

  constructor (buf: Buffer, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#start = this.#pos = Math.max(0, Math.min(start, buf.length));
    this.#end = Math.max(this.#pos, Math.min(end, buf.length));
  }

  /** Bytes in the whole range, read or not. */
  get length (): number { return this.#end - this.#start; }
  get remaining (): number { return this.#end - this.#pos; }

  /** Big-endian unsigned integer of 1 to 4 bytes. */
  uint (n: 1 | 2 | 3 | 4): number {
    if (this.remaining < n) return -1;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.#buf[this.#pos + i];
    this.#pos += n;
    return v;
  }

  /** A view of the next `n` bytes. */
  bytes (n: number): Buffer | undefined {
    if (n < 0 || this.remaining < n) return undefined;
    const view = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return view;
  }

  /** A reader over a vector whose length prefix takes `prefix` bytes; undefined when the prefix or the body runs past the end. */
  sub (prefix: 1 | 2 | 3): ByteReader | undefined {
    const start = this.#vectorStart(prefix);
    if (start < 0) return undefined;
    return new ByteReader(this.#buf, start, this.#pos);
  }

  /** A view of a length-prefixed vector. */
  vector (prefix: 1 | 2 | 3): Buffer | undefined {
    const start = this.#vectorStart(prefix);
    return start < 0 ? undefined : this.#buf.subarray(start, this.#pos);
  }

  /** A length-prefixed vector as a latin1 string (one char per byte, nothing lost). */
  latin1 (prefix: 1 | 2 | 3): string | undefined {
    const start = this.#vectorStart(prefix);
    return start < 0 ? undefined : this.#buf.toString('latin1', start, this.#pos);
  }

  /** The rest as big-endian 16-bit values; undefined when an odd number of bytes is left. */
  uint16s (): number[] | undefined {
    if (this.remaining % 2 !== 0) return undefined;
    const out = new Array<number>(this.remaining / 2);
    for (let i = 0; i < out.length; i++) out[i] = (this.#buf[this.#pos + 2 * i] << 8) | this.#buf[this.#pos + 2 * i + 1];
    this.#pos = this.#end;
    return out;
  }

  /** The rest as bytes. */
  uint8s (): number[] {
    const out = new Array<number>(this.remaining);
    for (let i = 0; i < out.length; i++) out[i] = this.#buf[this.#pos + i];
    this.#pos = this.#end;
    return out;
  }

  /** Moves past a vector's prefix and body; returns where the body starts, or -1 (and moves nothing). */
  #vectorStart (prefix: 1 | 2 | 3): number {
    const save = this.#pos;
    const n = this.uint(prefix);
    if (n < 0 || this.remaining < n) {
      this.#pos = save;
      return -1;
    }
    this.#pos += n;
    return this.#pos - n;
  }
}

/** The start every hello shares (RFC 8446 §4.1.2-3): version, random, legacy session id. */
export interface HelloHead { legacyVersion: number; random: Buffer; sessionId: Buffer }

/** Reads the shared start of a ClientHello or ServerHello (`what` names it in the reason), or why it is malformed. */
export function readHelloHead (r: ByteReader, what: string): HelloHead | string {
  const legacyVersion = r.uint(2);
  const random = r.bytes(32);
  if (random === undefined) return `${what} too short for version and random`;
  const sessionId = r.vector(1);
  if (sessionId === undefined) return 'session id runs past the end';
  if (sessionId.length > 32) return `session id length ${sessionId.length} exceeds 32`;
  return { legacyVersion, random, sessionId };
}

/**
 * Reads one hello message and hands its body to `parseBody`; `checkTrailing` says whether
 * bytes after it in its record are allowed. Never throws: a bug becomes the reason
 * 'internal parser error', which the fuzz tests assert never appears.
 */
export function parseHello<T> (
  buf: Buffer, type: number, limits: HelloLimits,
  parseBody: (body: Buffer, records: number) => T | string,
  checkTrailing: (hello: T, trailing: number) => string | undefined,
): HelloResult<T> {
  try {
    const msg = readHandshakeMessage(buf, type, limits);
    if (msg.status !== 'ok') return msg;
    const hello = parseBody(msg.value.body, msg.value.records);
    if (typeof hello === 'string') return fail(hello, ALERT.decodeError);
    const trailing = msg.value.trailing > 0 ? checkTrailing(hello, msg.value.trailing) : undefined;
    // RFC 8446 §5.1: a hello not aligned with its record's end is an unexpected_message.
    if (trailing) return fail(trailing, ALERT.unexpectedMessage);
    return { status: 'ok', value: hello, bytes: msg.bytes };
  } catch {
    return fail('internal parser error', ALERT.decodeError);
  }
}

/**
 * Walks the extensions block that ends a hello (optional before TLS 1.3): each extension
 * once (RFC 8446 §4.2), recorded in `types` in order, handed to `visit` with whether it
 * is the last. Returns what is wrong, if anything.
 */
export function readExtensions (r: ByteReader, types: number[], visit: (type: number, data: ByteReader, last: boolean) => string | undefined): string | undefined {
  if (r.remaining === 0) return undefined;
  const e = r.sub(2);
  if (e === undefined) return 'extensions run past the end';
  if (r.remaining > 0) return `${r.remaining} trailing bytes after the extensions`;
  while (e.remaining > 0) {
    const type = e.uint(2);
    if (type < 0) return 'extension header runs past the end';
    const data = e.sub(2);
    if (data === undefined) return `extension ${hex16(type)} length runs past the end`;
    // A linear scan: a hello has a few dozen extensions at most (65535 bytes / 4 at worst, once).
    if (types.includes(type)) return `duplicate extension ${hex16(type)}`;
    types.push(type);
    const problem = visit(type, data, e.remaining === 0);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
