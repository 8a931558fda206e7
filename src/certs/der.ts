// A minimal DER encoder (X.690), just what a certificate needs. Every function returns
// one complete TLV, so a structure is written the way ASN.1 reads: nested calls.

/** Tag bytes: universal ones plus the class bits for context-specific tags. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT: 0x80,
  CONSTRUCTED: 0x20,
} as const;

function encodeLength (length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv (tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence (...items: Uint8Array[]): Buffer {
  return tlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** SET OF: DER wants the elements sorted by their encodings (X.690 §11.6). */
export function set (...items: Uint8Array[]): Buffer {
  return tlv(TAG.SET, Buffer.concat([...items].sort(Buffer.compare)));
}

export function boolean (value: boolean): Buffer {
  return tlv(TAG.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
}

export function nullValue (): Buffer {
  return tlv(TAG.NULL, Buffer.alloc(0));
}

/**
 * INTEGER from a non-negative number or big-endian unsigned bytes. DER wants the shortest
 * two's-complement form: strip leading zeros, then add one back if the top bit is set
 * (otherwise the value would read as negative).
 */
export function integer (value: number | bigint | Uint8Array): Buffer {
  let bytes: Buffer;
  if (typeof value === 'number' || typeof value === 'bigint') {
    let n = BigInt(value);
    if (n < 0n) throw new RangeError('DER integer: only non-negative values are supported');
    const out: number[] = [];
    do { out.unshift(Number(n & 0xffn)); n >>= 8n; } while (n > 0n);
    bytes = Buffer.from(out);
  } else {
    bytes = Buffer.from(value);
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(TAG.INTEGER, bytes);
}

/** OBJECT IDENTIFIER from dotted text: first two arcs packed as 40*a+b, then base-128. */
export function oid (dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => {
    if (!/^\d+$/.test(arc)) throw new RangeError(`DER oid: bad arc in ${dotted}`);
    return BigInt(arc);
  });
  if (arcs.length < 2) throw new RangeError(`DER oid: ${dotted} needs at least two arcs`);
  const out: number[] = [];
  const push = (arc: bigint): void => {
    const group: number[] = [Number(arc & 0x7fn)];
    for (arc >>= 7n; arc > 0n; arc >>= 7n) group.unshift(Number(arc & 0x7fn) | 0x80);
    out.push(...group);
  };
  push(arcs[0] * 40n + arcs[1]);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(TAG.OID, Buffer.from(out));
}

export function octetString (bytes: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, bytes);
}

/** BIT STRING: first content byte counts the unused bits at the end of the last byte. */
export function bitString (bytes: Uint8Array, unusedBits = 0): Buffer {
  if (unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new RangeError('DER bit string: unused bits must be 0..7 (0 when empty)');
  }
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/**
 * A NamedBitList value (like keyUsage) from the bit numbers set. DER drops trailing
 * zero bits (X.690 §11.2.2), so the unused-bits count follows from the highest bit set.
 */
export function namedBits (bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  return bitString(bytes, 7 - (highest & 7));
}

export function utf8String (text: string): Buffer {
  return tlv(TAG.UTF8_STRING, Buffer.from(text, 'utf8'));
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * A certificate validity time as RFC 5280 §4.1.2.5 wants it: UTCTime (YYMMDDHHMMSSZ)
 * through 2049, GeneralizedTime (YYYYMMDDHHMMSSZ) from 2050; seconds, no fraction.
 */
export function time (date: Date): Buffer {
  const year = date.getUTCFullYear();
  const rest = `${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${pad(year % 100)}${rest}`, 'ascii'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${pad(year, 4)}${rest}`, 'ascii'));
}

/** [n] EXPLICIT: wraps a complete TLV in a constructed context tag. */
export function explicit (n: number, inner: Uint8Array): Buffer {
  return tlv(TAG.CONTEXT | TAG.CONSTRUCTED | n, inner);
}

/** [n] IMPLICIT primitive: the context tag replaces the inner type's tag. */
export function implicit (n: number, content: Uint8Array): Buffer {
  return tlv(TAG.CONTEXT | n, content);
}
