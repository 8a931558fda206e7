// Builds hellos byte by byte for the tests: an independent encoder, so a parser bug is
// not mirrored by the code that produced its input. Also re-frames a captured message
// into records of another size.

export type Extension = readonly [type: number, data: Buffer];

export interface ClientHelloSpec {
  legacyVersion?: number;
  random?: Buffer;
  sessionId?: Buffer;
  cipherSuites?: number[];
  compressionMethods?: number[];
  /** Undefined: no extensions block at all (legal before TLS 1.3). */
  extensions?: Extension[];
}

export interface ServerHelloSpec {
  legacyVersion?: number;
  random?: Buffer;
  sessionId?: Buffer;
  cipherSuite?: number;
  compressionMethod?: number;
  extensions?: Extension[];
}

export const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);
export const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
export const u24 = (n: number): Buffer => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
export const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
export const vec8 = (data: Buffer): Buffer => Buffer.concat([u8(data.length), data]);
export const vec16 = (data: Buffer): Buffer => Buffer.concat([u16(data.length), data]);
const list16 = (values: number[]): Buffer => Buffer.concat(values.map(u16));

export const ext = {
  serverName: (name: string): Extension => [0, vec16(Buffer.concat([u8(0), vec16(Buffer.from(name, 'latin1'))]))],
  alpn: (names: string[]): Extension => [16, vec16(Buffer.concat(names.map((n) => vec8(Buffer.from(n, 'latin1')))))],
  supportedVersions: (versions: number[]): Extension => [43, vec8(list16(versions))],
  supportedGroups: (groups: number[]): Extension => [10, vec16(list16(groups))],
  keyShare: (shares: Array<[number, Buffer]>): Extension => [51, vec16(Buffer.concat(shares.map(([g, k]) => Buffer.concat([u16(g), vec16(k)]))))],
  sessionTicket: (ticket: Buffer = Buffer.alloc(0)): Extension => [35, ticket],
  pskModes: (modes: number[]): Extension => [45, vec8(Buffer.from(modes))],
  earlyData: (): Extension => [42, Buffer.alloc(0)],
  preSharedKey: (identities: Buffer[], binderLength = 32): Extension => [41, Buffer.concat([
    vec16(Buffer.concat(identities.map((id) => Buffer.concat([vec16(id), u32(0x01020304)])))),
    vec16(Buffer.concat(identities.map(() => vec8(Buffer.alloc(binderLength, 0xbb)))))
  ])]
};

export const serverExt = {
  supportedVersion: (v: number): Extension => [43, u16(v)],
  selectedPsk: (n: number): Extension => [41, u16(n)],
  sessionTicket: (): Extension => [35, Buffer.alloc(0)],
  alpn: (name: string): Extension => [16, vec16(vec8(Buffer.from(name, 'latin1')))],
  keyShare: (group: number, key: Buffer): Extension => [51, Buffer.concat([u16(group), vec16(key)])]
};

function extensionsBlock (extensions: Extension[] | undefined): Buffer {
  if (extensions === undefined) return Buffer.alloc(0);
  return vec16(Buffer.concat(extensions.map(([type, data]) => Buffer.concat([u16(type), vec16(data)]))));
}

export function clientHelloBody (spec: ClientHelloSpec = {}): Buffer {
  return Buffer.concat([
    u16(spec.legacyVersion ?? 0x0303),
    spec.random ?? Buffer.alloc(32, 0x11),
    vec8(spec.sessionId ?? Buffer.alloc(0)),
    vec16(list16(spec.cipherSuites ?? [0x1301, 0x1302, 0xc02f])),
    vec8(Buffer.from(spec.compressionMethods ?? [0])),
    extensionsBlock(spec.extensions)
  ]);
}

export function serverHelloBody (spec: ServerHelloSpec = {}): Buffer {
  return Buffer.concat([
    u16(spec.legacyVersion ?? 0x0303),
    spec.random ?? Buffer.alloc(32, 0x22),
    vec8(spec.sessionId ?? Buffer.alloc(0)),
    u16(spec.cipherSuite ?? 0x1301),
    u8(spec.compressionMethod ?? 0),
    extensionsBlock(spec.extensions)
  ]);
}

export function handshakeMessage (type: number, body: Buffer): Buffer {
  return Buffer.concat([u8(type), u24(body.length), body]);
}

/** Splits a handshake message into handshake records carrying at most `size` bytes each. */
export function frameRecords (message: Buffer, size = 16384, recordVersion = 0x0301): Buffer {
  const records: Buffer[] = [];
  for (let i = 0; i < message.length; i += size) {
    const fragment = message.subarray(i, Math.min(i + size, message.length));
    records.push(Buffer.concat([u8(22), u16(recordVersion), u16(fragment.length), fragment]));
  }
  return Buffer.concat(records);
}

export const clientHelloRecords = (spec?: ClientHelloSpec, size?: number): Buffer =>
  frameRecords(handshakeMessage(1, clientHelloBody(spec)), size);
export const serverHelloRecords = (spec?: ServerHelloSpec, size?: number): Buffer =>
  frameRecords(handshakeMessage(2, serverHelloBody(spec)), size, 0x0303);

/** The handshake message carried by well-formed handshake records (test input, so trusted). */
export function unframe (records: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let pos = 0; pos + 5 <= records.length;) {
    const length = records.readUInt16BE(pos + 3);
    parts.push(records.subarray(pos + 5, pos + 5 + length));
    pos += 5 + length;
  }
  const all = Buffer.concat(parts);
  return all.subarray(0, 4 + all.readUIntBE(1, 3));
}

/** Re-frames the message in `records` into records of `size` bytes, as a peer may legally do. */
export const reframe = (records: Buffer, size: number): Buffer => frameRecords(unframe(records), size, records.readUInt16BE(1));
