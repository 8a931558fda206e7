// Self-signed server certificates made with node:crypto alone, for the embedded demo and
// for tests and benchmarks that need a certificate at run time (no committed keys, no
// openssl subprocess). The TBSCertificate is written in DER by hand (RFC 5280 §4.1).
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { addressBytes } from '../config/cidr.ts';
import {
  bitString, boolean, explicit, implicit, integer, namedBits, nullValue,
  octetString, oid, sequence, set, time, utf8String,
} from './der.ts';

export interface SelfSignedOptions {
  /** DNS names (the first is also the subject CN); IP literals become iPAddress SANs. */
  names: string[];
  /** 'ec' = P-256 (the default), 'rsa' = RSA-2048. */
  keyType?: 'ec' | 'rsa';
  /** Days of validity from now. */
  days?: number;
  /** An explicit end of validity instead of `days` (tests make expired certificates with it); starts a day before. */
  notAfter?: Date;
}

export const DEFAULT_SELF_SIGNED_OPTIONS = {
  keyType: 'ec',
  days: 365,
} as const satisfies Omit<Required<SelfSignedOptions>, 'names' | 'notAfter'>;

export interface SelfSigned {
  /** The certificate, PEM. */
  cert: string;
  /** The private key, PEM PKCS#8. */
  key: string;
}

const OID = {
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

// keyUsage bit numbers (RFC 5280 §4.2.1.3).
const DIGITAL_SIGNATURE = 0;
const KEY_ENCIPHERMENT = 2;

function extension (id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

function generalName (name: string): Buffer {
  if (isIP(name)) return implicit(7, addressBytes(name)!); // iPAddress [7] OCTET STRING
  return implicit(2, Buffer.from(name, 'ascii')); // dNSName [2] IA5String (checked ASCII above)
}

/** A positive 16-byte serial (RFC 5280 allows up to 20): top bit clear so no sign byte, next bit set so no leading zero. */
function serialNumber (): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return bytes;
}

function pem (label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function keyPair (keyType: 'ec' | 'rsa'): { publicKey: KeyObject; privateKey: KeyObject } {
  return keyType === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function generateSelfSigned (options: SelfSignedOptions): SelfSigned {
  const { names, keyType, days, notAfter: until } = { ...DEFAULT_SELF_SIGNED_OPTIONS, ...options };
  if (names.length === 0) throw new TypeError('generateSelfSigned: at least one name is needed');
  if (!(days > 0)) throw new RangeError('generateSelfSigned: days must be positive');
  for (const name of names) {
    if (!isIP(name) && !/^[A-Za-z0-9*]([A-Za-z0-9-.*]*[A-Za-z0-9])?$/.test(name)) {
      throw new TypeError(`generateSelfSigned: ${JSON.stringify(name)} is neither an IP literal nor an ASCII DNS name (use punycode)`);
    }
  }

  const { publicKey, privateKey } = keyPair(keyType);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // ECDSA's AlgorithmIdentifier has no parameters; RSA's has an explicit NULL (RFC 4055 / 5758).
  const signatureAlgorithm = keyType === 'rsa'
    ? sequence(oid(OID.sha256WithRsa), nullValue())
    : sequence(oid(OID.ecdsaWithSha256));
  const name = sequence(set(sequence(oid(OID.commonName), utf8String(names[0]))));

  // Back-dated an hour so a client whose clock runs a little behind still accepts it.
  const now = Date.now();
  const notAfter = until ?? new Date(now + days * 86_400_000);
  const notBefore = new Date(Math.min(now - 3_600_000, notAfter.getTime() - 86_400_000));

  // SKI is method 1 of RFC 5280 §4.2.1.2: SHA-1 of the subjectPublicKey bits. The SPKI
  // DER ends with that BIT STRING, whose content after the unused-bits byte is the key.
  const keyBits = spkiPublicKeyBits(spki);
  const usage = keyType === 'rsa' ? [DIGITAL_SIGNATURE, KEY_ENCIPHERMENT] : [DIGITAL_SIGNATURE];
  const extensions = sequence(
    extension(OID.subjectAltName, false, sequence(...names.map(generalName))),
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, namedBits(usage)),
    extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
    extension(OID.subjectKeyIdentifier, false, octetString(createHash('sha1').update(keyBits).digest())),
  );

  const tbs = sequence(
    explicit(0, integer(2)), // v3
    integer(serialNumber()),
    signatureAlgorithm,
    name, // issuer = subject: self-signed
    sequence(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = sequence(tbs, signatureAlgorithm, bitString(signature));

  return {
    cert: pem('CERTIFICATE', cert),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** The subjectPublicKey BIT STRING's key bytes out of a SubjectPublicKeyInfo DER. */
function spkiPublicKeyBits (spki: Buffer): Buffer {
  // SEQUENCE { AlgorithmIdentifier SEQUENCE, BIT STRING }: skip the outer header and the
  // algorithm, then read the bit string's header and drop its unused-bits byte.
  const header = (at: number): { content: number; end: number } => {
    const first = spki[at + 1];
    if (first < 0x80) return { content: at + 2, end: at + 2 + first };
    const n = first & 0x7f;
    let length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + spki[at + 2 + i];
    return { content: at + 2 + n, end: at + 2 + n + length };
  };
  const outer = header(0);
  const algorithm = header(outer.content);
  const bits = header(algorithm.end);
  return spki.subarray(bits.content + 1, bits.end);
}
