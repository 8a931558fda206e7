// PROXY protocol version 2 (haproxy doc/proxy-protocol.txt §2.2): a binary header sent
// to a backend before the proxied bytes, so the backend sees the client's address (and,
// in TLVs, the ALPN, SNI and TLS version the terminator negotiated). Here rather than in
// frontend/ because health checks and the ticket-key probe send it too (LOCAL), and
// frontend/ imports balancer/, never the other way; frontend/connection.ts builds the
// header of an accepted connection.
import { addressBytes } from '../config/cidr.ts';

/** The 12-byte signature every v2 header starts with ("\r\n\r\n\0\r\nQUIT\n"). */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const FIXED_BYTES = 16; // signature, ver_cmd, fam, len

const VERSION_2 = 0x20;
const CMD_LOCAL = 0x00;
const CMD_PROXY = 0x01;
const FAM_UNSPEC = 0x00;
const FAM_TCP4 = 0x11;
const FAM_TCP6 = 0x21;

export const PP2_TYPE_ALPN = 0x01;
export const PP2_TYPE_AUTHORITY = 0x02;
export const PP2_TYPE_SSL = 0x20;
export const PP2_SUBTYPE_SSL_VERSION = 0x21;
export const PP2_SUBTYPE_SSL_CIPHER = 0x23;
/** The `client` bit field of PP2_TYPE_SSL: the connection used TLS. */
export const PP2_CLIENT_SSL = 0x01;

export interface ProxyAddress {
  address: string;
  port: number;
}

export interface ProxyTlvs {
  /** The ALPN protocol negotiated with the client, e.g. `h2`. */
  alpn?: string;
  /** The host name the client asked for (SNI). */
  authority?: string;
  /** TLS details; `version` as Node's `getProtocol()` gives it, e.g. `TLSv1.3`. */
  ssl?: { version: string; cipher?: string };
}

export interface ProxyV2Header extends ProxyTlvs {
  source: ProxyAddress;
  destination: ProxyAddress;
}

function tlv (type: number, value: Buffer): Buffer {
  if (value.length > 0xffff) throw new RangeError(`PROXY v2: TLV 0x${type.toString(16)} longer than 65535 bytes`);
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

function encodeTlvs (tlvs: ProxyTlvs): Buffer[] {
  const out: Buffer[] = [];
  if (tlvs.alpn !== undefined) out.push(tlv(PP2_TYPE_ALPN, Buffer.from(tlvs.alpn, 'latin1')));
  if (tlvs.authority !== undefined) out.push(tlv(PP2_TYPE_AUTHORITY, Buffer.from(tlvs.authority, 'utf8')));
  if (tlvs.ssl !== undefined) {
    // struct pp2_tlv_ssl { uint8 client; uint32 verify; sub-TLVs }. verify is 0 when the
    // client certificate (if any) checked out; warmshake asks for none, so it is 0.
    const head = Buffer.alloc(5);
    head[0] = PP2_CLIENT_SSL;
    const subs = [tlv(PP2_SUBTYPE_SSL_VERSION, Buffer.from(tlvs.ssl.version, 'ascii'))];
    if (tlvs.ssl.cipher !== undefined) subs.push(tlv(PP2_SUBTYPE_SSL_CIPHER, Buffer.from(tlvs.ssl.cipher, 'ascii')));
    out.push(tlv(PP2_TYPE_SSL, Buffer.concat([head, ...subs])));
  }
  return out;
}

function header (command: number, family: number, body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  if (payload.length > 0xffff) throw new RangeError('PROXY v2: header longer than 65535 bytes');
  const fixed = Buffer.alloc(4);
  fixed[0] = VERSION_2 | command;
  fixed[1] = family;
  fixed.writeUInt16BE(payload.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, fixed, payload]);
}

function port (value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`PROXY v2: bad port ${value}`);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

/** IPv4 bytes as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
function mapped (v4: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

/**
 * A PROXY command header for a TCP connection. IPv4-mapped IPv6 addresses (what a
 * dual-stack listener reports) go as TCP4; when the two ends really differ in family,
 * both go as IPv6 with the IPv4 one mapped, as HAProxy does.
 */
export function encodeProxyV2 (h: ProxyV2Header): Buffer {
  let src = addressBytes(h.source.address);
  let dst = addressBytes(h.destination.address);
  if (!src) throw new TypeError(`PROXY v2: source ${JSON.stringify(h.source.address)} is not an IP address`);
  if (!dst) throw new TypeError(`PROXY v2: destination ${JSON.stringify(h.destination.address)} is not an IP address`);
  if (src.length !== dst.length) {
    if (src.length === 4) src = mapped(src);
    if (dst.length === 4) dst = mapped(dst);
  }
  const family = src.length === 4 ? FAM_TCP4 : FAM_TCP6;
  return header(CMD_PROXY, family, [
    Buffer.from(src), Buffer.from(dst), port(h.source.port), port(h.destination.port), ...encodeTlvs(h),
  ]);
}

/**
 * A LOCAL command header: the connection is the proxy's own (a health check), so the
 * receiver keeps the real socket addresses. Backends that require the header on every
 * connection would otherwise reject the check.
 */
export function encodeProxyV2Local (): Buffer {
  return header(CMD_LOCAL, FAM_UNSPEC, []);
}

export interface DecodedProxyV2 extends ProxyTlvs {
  command: 'LOCAL' | 'PROXY';
  /** `TCP4`, `TCP6`, `UNSPEC`, or the raw family byte as hex for the ones not decoded (UDP, UNIX). */
  family: string;
  source?: ProxyAddress;
  destination?: ProxyAddress;
  /** Every TLV as received, in order. */
  tlvs: Array<{ type: number; value: Buffer }>;
  /** Bytes the header takes; what follows is the proxied stream. */
  length: number;
}

/** RFC 5952 text of 16 address bytes: lowercase, longest run of two or more zero groups as `::`. */
export function formatIPv6 (bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { best = i; bestLength = j - i; }
    i = j;
  }
  const text = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return text(groups);
  return `${text(groups.slice(0, best))}::${text(groups.slice(best + bestLength))}`;
}

function decodeTlvs (bytes: Buffer, into: Array<{ type: number; value: Buffer }>): void {
  for (let at = 0; at < bytes.length;) {
    if (at + 3 > bytes.length) throw new RangeError('PROXY v2: truncated TLV header');
    const length = bytes.readUInt16BE(at + 1);
    if (at + 3 + length > bytes.length) throw new RangeError('PROXY v2: TLV runs past the header');
    into.push({ type: bytes[at], value: bytes.subarray(at + 3, at + 3 + length) });
    at += 3 + length;
  }
}

/**
 * Decodes a v2 header at the start of `buf`: undefined when more bytes are needed,
 * throws RangeError when the bytes are not a valid v2 header.
 */
export function decodeProxyV2 (buf: Buffer): DecodedProxyV2 | undefined {
  const seen = Math.min(buf.length, PROXY_V2_SIGNATURE.length);
  if (!buf.subarray(0, seen).equals(PROXY_V2_SIGNATURE.subarray(0, seen))) throw new RangeError('PROXY v2: bad signature');
  if (buf.length < FIXED_BYTES) return undefined;
  const verCmd = buf[12];
  if ((verCmd & 0xf0) !== VERSION_2) throw new RangeError(`PROXY v2: version ${verCmd >> 4} is not 2`);
  const cmd = verCmd & 0x0f;
  if (cmd !== CMD_LOCAL && cmd !== CMD_PROXY) throw new RangeError(`PROXY v2: unknown command ${cmd}`);
  const total = FIXED_BYTES + buf.readUInt16BE(14);
  if (buf.length < total) return undefined;
  const body = buf.subarray(FIXED_BYTES, total);
  const fam = buf[13];
  const out: DecodedProxyV2 = {
    command: cmd === CMD_LOCAL ? 'LOCAL' : 'PROXY',
    family: fam === FAM_TCP4 ? 'TCP4' : fam === FAM_TCP6 ? 'TCP6' : fam === FAM_UNSPEC ? 'UNSPEC' : `0x${fam.toString(16)}`,
    tlvs: [],
    length: total,
  };
  let rest = body;
  if (fam === FAM_TCP4 || fam === FAM_TCP6) {
    const size = fam === FAM_TCP4 ? 4 : 16;
    if (body.length < 2 * size + 4) throw new RangeError('PROXY v2: address block too short');
    const text = (b: Buffer): string => size === 4 ? b.join('.') : formatIPv6(b);
    out.source = { address: text(body.subarray(0, size)), port: body.readUInt16BE(2 * size) };
    out.destination = { address: text(body.subarray(size, 2 * size)), port: body.readUInt16BE(2 * size + 2) };
    rest = body.subarray(2 * size + 4);
  } else if (fam !== FAM_UNSPEC) {
    return out; // UDP / UNIX: the address block is not decoded, nor the TLVs after it
  } else {
    rest = Buffer.alloc(0); // UNSPEC: the receiver must ignore the address block
  }
  decodeTlvs(rest, out.tlvs);
  for (const { type, value } of out.tlvs) {
    if (type === PP2_TYPE_ALPN) out.alpn = value.toString('latin1');
    else if (type === PP2_TYPE_AUTHORITY) out.authority = value.toString('utf8');
    else if (type === PP2_TYPE_SSL) {
      if (value.length < 5) throw new RangeError('PROXY v2: PP2_TYPE_SSL shorter than 5 bytes');
      const subs: Array<{ type: number; value: Buffer }> = [];
      decodeTlvs(value.subarray(5), subs);
      const version = subs.find((s) => s.type === PP2_SUBTYPE_SSL_VERSION)?.value.toString('ascii') ?? '';
      const cipher = subs.find((s) => s.type === PP2_SUBTYPE_SSL_CIPHER)?.value.toString('ascii');
      out.ssl = cipher === undefined ? { version } : { version, cipher };
    }
  }
  return out;
}
