// Certificate selection by SNI: exact names first, then wildcards, then the first
// certificate of the frontend (nginx's and HAProxy's order).
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KeyFileError } from '../errors.ts';

export interface LoadedCertificate {
  cert: Buffer;
  key: Buffer;
  /** DNS names the certificate covers, lowercased (`*.example.com` kept as is). */
  names: string[];
  /** SHA-256 of the DER; binds ticket keys to this certificate. */
  fingerprint: Buffer;
  notAfter: Date;
}

/** The files of one certificate: PEM certificate (chain) and its private key. */
export interface CertificateFiles {
  cert: string;
  key: string;
}

export function loadCertificate (config: CertificateFiles): LoadedCertificate {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(config.cert);
    key = readFileSync(config.key);
  } catch (err) {
    throw new KeyFileError(`cannot read certificate ${config.cert} or key ${config.key}: ${(err as Error).message}`, { cause: err });
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new KeyFileError(`${config.cert} is not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  const names = new Set<string>();
  for (const part of (x509.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) names.add(part.slice(4).toLowerCase());
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
  if (names.size === 0 && cn) names.add(cn.toLowerCase());
  return { cert, key, names: [...names], fingerprint: createHash('sha256').update(x509.raw).digest(), notAfter: new Date(x509.validTo) };
}

export class CertificateSelector {
  readonly certificates: readonly LoadedCertificate[];
  #exact = new Map<string, number>();
  #wildcard = new Map<string, number>();

  constructor (certificates: readonly LoadedCertificate[]) {
    this.certificates = certificates;
    certificates.forEach((c, i) => {
      for (const name of c.names) {
        const map = name.startsWith('*.') ? this.#wildcard : this.#exact;
        const key = name.startsWith('*.') ? name.slice(2) : name;
        if (!map.has(key)) map.set(key, i);
      }
    });
  }

  /** Index of the certificate to present for `sni` (lowercase); 0 when nothing matches. */
  select (sni: string | undefined): number {
    if (!sni) return 0;
    const exact = this.#exact.get(sni);
    if (exact !== undefined) return exact;
    const dot = sni.indexOf('.');
    return dot > 0 ? this.#wildcard.get(sni.slice(dot + 1)) ?? 0 : 0;
  }
}
