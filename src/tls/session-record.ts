// What warmshake stores for a session: OpenSSL's serialized SSL_SESSION plus what it
// must match on resumption (frontend and SNI, RFC 6066 §3) and when it was made (each
// node checks the lifetime against its own clock; Redis only expires entries).
//
// Layout: u8 version | f64 created ms | u8 frontend length | frontend | u8 sni length | sni | session

export const SESSION_RECORD_VERSION = 1;
const VERSION = SESSION_RECORD_VERSION;

export interface SessionRecord {
  created: number;
  frontend: string;
  /** Lowercased SNI, '' when the client sent none. */
  sni: string;
  session: Buffer;
}

export function encodeSessionRecord (record: SessionRecord): Buffer {
  const frontend = Buffer.from(record.frontend, 'latin1');
  const sni = Buffer.from(record.sni, 'latin1');
  const out = Buffer.allocUnsafe(1 + 8 + 1 + frontend.length + 1 + sni.length + record.session.length);
  let at = out.writeUInt8(VERSION, 0);
  at = out.writeDoubleBE(record.created, at);
  at = out.writeUInt8(frontend.length, at);
  at += frontend.copy(out, at);
  at = out.writeUInt8(sni.length, at);
  at += sni.copy(out, at);
  record.session.copy(out, at);
  return out;
}

/** Undefined when the bytes are not a record of this version (never throws). */
export function decodeSessionRecord (bytes: Buffer): SessionRecord | undefined {
  if (bytes.length < 11 || bytes[0] !== VERSION) return undefined;
  const created = bytes.readDoubleBE(1);
  let at = 9;
  const frontendLength = bytes[at++];
  if (at + frontendLength + 1 > bytes.length) return undefined;
  const frontend = bytes.toString('latin1', at, at + frontendLength);
  at += frontendLength;
  const sniLength = bytes[at++];
  if (at + sniLength >= bytes.length) return undefined;
  const sni = bytes.toString('latin1', at, at + sniLength);
  return { created, frontend, sni, session: bytes.subarray(at + sniLength) };
}
