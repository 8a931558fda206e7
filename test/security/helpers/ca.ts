// A test CA and a server certificate it signs, made with the openssl command line at test
// time, for auditors (testssl) that judge the certificate too: a self-signed certificate
// or one without a revocation URI are findings about the test's certificate, not about
// warmshake. The CRL URI is never fetched (testssl does not phone out unless told to).
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SignedCert { ca: string; cert: string; key: string }

export function writeCaSignedCert (dir: string, names: string[] = ['localhost'], ips: string[] = ['127.0.0.1']): SignedCert {
  const path = (f: string): string => join(dir, f);
  const openssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] }); };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '365', '-subj', '/CN=warmshake test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', `/CN=${names[0]}`);
  writeFileSync(path('server.ext'), [
    `subjectAltName=${[...names.map((n) => `DNS:${n}`), ...ips.map((i) => `IP:${i}`)].join(',')}`,
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    'crlDistributionPoints=URI:http://127.0.0.1/warmshake-test-ca.crl',
  ].join('\n'));
  openssl('x509', '-req', '-in', path('server.csr'), '-CA', path('ca.crt'), '-CAkey', path('ca.key'), '-CAcreateserial',
    '-out', path('server.crt'), '-days', '365', '-extfile', path('server.ext'));
  chmodSync(path('server.key'), 0o600);
  chmodSync(path('ca.key'), 0o600);
  return { ca: path('ca.crt'), cert: path('server.crt'), key: path('server.key') };
}
