// testssl.sh (Debian package testssl.sh, `/usr/bin/testssl`) as an outside auditor: run
// it with a JSON report, read the findings back. Shared by the test (a fast subset) and
// test/security/audit.ts (the full run that writes docs/security.md).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { httpBackend } from '../../helpers/backend.ts';
import { tempDir } from '../../helpers/certs.ts';
import { startWarmshake, type Running } from '../../helpers/warmshake.ts';
import { writeCaSignedCert } from './ca.ts';

export interface Finding { id: string; severity: string; finding: string; cve?: string; port?: string }

export interface Audit {
  target: string;
  /** The caller's arguments (which checks), without the fixed ones and the report file. */
  args: string[];
  findings: Finding[];
  seconds: number;
  version: string;
}

const CANDIDATES = ['testssl', 'testssl.sh'];

/** The testssl command on this machine, or undefined. */
export function testsslCommand (): string | undefined {
  return CANDIDATES.find((c) => spawnSync(c, ['--version'], { stdio: 'ignore', timeout: 30_000 }).error === undefined);
}

/** Why the audit cannot run here, or undefined when it can. */
export function testsslMissing (): string | undefined {
  return testsslCommand() ? undefined : 'testssl is not installed (Debian package testssl.sh); the audit needs it';
}

export const BASE_ARGS = ['--quiet', '--color', '0', '--warnings', 'off', '--ip', 'one', '--nodns', 'min'];

/** Runs testssl against `target` (HOST:PORT) with `args`, writing its JSON to `jsonFile`. */
export function runTestssl (target: string, args: string[], jsonFile: string, timeoutMs = 600_000): Promise<Audit> {
  const command = testsslCommand();
  if (!command) return Promise.reject(new Error(testsslMissing()));
  const all = [...BASE_ARGS, ...args, '--jsonfile', jsonFile, target];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, all, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      if (!existsSync(jsonFile)) { reject(new Error(`testssl wrote no report; its output:\n${output}`)); return; }
      const findings = JSON.parse(readFileSync(jsonFile, 'utf8')) as Finding[];
      const version = /testssl(?:\.sh)?\s+([0-9][\w.+-]*)/.exec(spawnSync(command, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? 'unknown';
      resolve({ target, args, findings, seconds: Math.round((Date.now() - started) / 1000), version });
    });
  });
}

export const severe = (findings: readonly Finding[]): Finding[] => findings.filter((f) => f.severity === 'HIGH' || f.severity === 'CRITICAL' || f.severity === 'FATAL');

export const finding = (findings: readonly Finding[], id: string): Finding | undefined => findings.find((f) => f.id === id);

/** Count of findings per severity, in testssl's order. */
export function bySeverity (findings: readonly Finding[]): Record<string, number> {
  const order = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'WARN', 'OK', 'INFO'];
  const counts: Record<string, number> = {};
  for (const s of order) counts[s] = findings.filter((f) => f.severity === s).length;
  return counts;
}

export interface AuditTarget { dir: string; ws: Running; ca: string }

/**
 * The warmshake testssl looks at: a `default` frontend (the default TLS policy) and a
 * `tls12` one capped at TLS 1.2 (testssl judges session-id resumption there: its TLS 1.3
 * s_client quits before the ticket arrives), with a CA-signed certificate.
 */
export async function startAuditTarget (t: TestContext, prefix?: string): Promise<AuditTarget> {
  const dir = tempDir(t, prefix);
  const cert = writeCaSignedCert(dir);
  const backend = await httpBackend(t);
  const frontend = (name: string, extra: Record<string, unknown> = {}) => ({
    name, bind: '127.0.0.1:0', certificates: [{ cert: cert.cert, key: cert.key }], backend: 'app', ...extra,
  });
  const ws = await startWarmshake(t, dir, {
    global: { workers: 1, log: { level: 'info', format: 'json' } },
    session_cache: { size: 10_000, lifetime: 300 },
    frontends: [frontend('default'), frontend('tls12', { max_version: 'TLSv1.2' })],
    backends: [{ name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${backend.port}` }] }],
  });
  return { dir, ws, ca: cert.ca };
}
