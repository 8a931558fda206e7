import { isIPv4, isIPv6 } from 'node:net';
import type { Cidr } from './types.ts';

/** Address bytes of an IPv4 or IPv6 literal (IPv4-mapped IPv6 folded to IPv4). */
export function addressBytes (address: string): Uint8Array | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1];
  if (isIPv4(address)) return Uint8Array.from(address.split('.').map(Number));
  if (!isIPv6(address)) return undefined;
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  let [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const parse = (part: string): number[] => part === '' ? [] : part.split(':').flatMap((group) => {
    if (group.includes('.')) {
      const v4 = group.split('.').map(Number);
      return [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    }
    return [parseInt(group, 16)];
  });
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => { bytes[2 * i] = g >> 8; bytes[2 * i + 1] = g & 0xff; });
  return bytes;
}

export function parseCidr (text: string): Cidr | undefined {
  const [addr, bits, extra] = text.split('/');
  if (extra !== undefined) return undefined;
  const bytes = addressBytes(addr);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) return undefined;
  return { text, family: bytes.length === 4 ? 4 : 6, bytes, prefix };
}

export function cidrContains (cidr: Cidr, address: Uint8Array): boolean {
  if (address.length !== cidr.bytes.length) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((address[i] & mask) !== (cidr.bytes[i] & mask)) return false;
  }
  return true;
}
