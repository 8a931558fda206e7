// Certificates made at test time, in a temporary directory, never committed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { generateSelfSigned } from '../../src/certs/self-signed.ts';

export interface CertFiles {
  dir: string;
  cert: string;
  key: string;
  certPem: string;
}

/** A temporary directory removed after the test. */
export function tempDir (t: TestContext | undefined, prefix = 'warmshake-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Never throws: a failed removal must not skip the after-hooks registered later (the
  // ones that stop warmshake), or the test file would hang.
  t?.after(() => { try { rmSync(dir, { recursive: true, force: true, maxRetries: 3 }); } catch {} });
  return dir;
}

export function writeCert (dir: string, names: string[] = ['localhost', '127.0.0.1'], base = 'server', keyType: 'ec' | 'rsa' = 'ec'): CertFiles {
  const { cert, key } = generateSelfSigned({ names, keyType });
  const certPath = join(dir, `${base}.crt`);
  const keyPath = join(dir, `${base}.key`);
  writeFileSync(certPath, cert);
  writeFileSync(keyPath, key, { mode: 0o600 });
  return { dir, cert: certPath, key: keyPath, certPem: cert };
}
