// One entry point for the three peers: start any of them from a ServerSpec, and say why
// a peer cannot take part (the report names a skipped peer rather than hiding it).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAPROXY, startHaproxy } from './haproxy.ts';
import { nginxMissing, startNginx } from './nginx.ts';
import type { RunningServer, ServerKind, ServerSpec } from './types.ts';
import { startWarmshake } from './warmshake.ts';

export type { RunningServer, ServerKind, ServerSpec } from './types.ts';
export { startBackend } from './backend.ts';
export type { Backend } from './backend.ts';

export const ALL_SERVERS: readonly ServerKind[] = ['warmshake', 'haproxy', 'nginx'];

export function missingReason (kind: ServerKind): string | undefined {
  if (kind === 'haproxy' && !existsSync(HAPROXY)) return 'haproxy is not installed (apt-get install haproxy)';
  if (kind === 'nginx') return nginxMissing();
  return undefined;
}

export function serverDir (root: string, name: string): string {
  return mkdtempSync(join(root, `${name}-`));
}

export function defaultRoot (): string {
  return mkdtempSync(join(tmpdir(), 'warmshake-bench-'));
}

export function startServer (kind: ServerKind, spec: ServerSpec): Promise<RunningServer> {
  switch (kind) {
    case 'warmshake': return startWarmshake(spec);
    case 'haproxy': return startHaproxy(spec);
    case 'nginx': return startNginx(spec);
  }
}
