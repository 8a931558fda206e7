// HAProxy (Debian `haproxy`) as the first anchor: `mode tcp` with `bind ... ssl`, which
// is what warmshake is (TLS terminated, plaintext spliced to a TCP backend). Cache size
// and lifetime are `tune.ssl.cachesize` (blocks of ~200 bytes: one per session without a
// client certificate) and `tune.ssl.lifetime`; threads are `nbthread`.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CIPHERS, DEFAULT_CIPHERSUITES } from '../../src/config/schema.ts';
import { spawnPinned, stopProcess, waitServing, WRAPPED_READY_MS } from './process.ts';
import type { RunningServer, ServerSpec } from './types.ts';

export const HAPROXY = '/usr/sbin/haproxy';

/**
 * HAProxy wants two descriptors per connection (client and server side) and refuses to
 * start when `maxconn` needs more than it may open; an unprivileged container cannot
 * raise its hard limit. So `maxconn` is capped to what the limit allows.
 */
export function haproxyMaxconn (wanted: number): number {
  const hard = Number(spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim());
  return Number.isFinite(hard) && hard > 0 ? Math.min(wanted, Math.floor((hard - 100) / 2)) : wanted;
}

export function haproxyConfig (spec: ServerSpec, pem: string, ticketFile: string | undefined): string {
  const bindOptions = [
    `ssl crt ${pem}`, 'ssl-min-ver TLSv1.2',
    ...(spec.tickets ? [] : ['no-tls-tickets']),
    ...(ticketFile ? [`tls-ticket-keys ${ticketFile}`] : [])
  ];
  return [
    'global',
    `  nbthread ${spec.threads}`,
    `  maxconn ${haproxyMaxconn(spec.maxConnections ?? 8000)}`,
    `  tune.ssl.cachesize ${spec.cacheSize}`,
    `  tune.ssl.lifetime ${spec.lifetime}`,
    `  ssl-default-bind-ciphers ${DEFAULT_CIPHERS}`,
    `  ssl-default-bind-ciphersuites ${DEFAULT_CIPHERSUITES}`,
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    '',
    'frontend fe',
    `  bind 127.0.0.1:${spec.port} ${bindOptions.join(' ')}`,
    '  default_backend be',
    '',
    'backend be',
    `  server s1 127.0.0.1:${spec.backendPort}`,
    ''
  ].join('\n');
}

export async function startHaproxy (spec: ServerSpec): Promise<RunningServer> {
  const pem = join(spec.dir, 'haproxy.pem');
  writeFileSync(pem, readFileSync(spec.cert, 'utf8') + readFileSync(spec.key, 'utf8'), { mode: 0o600 });
  let ticketFile: string | undefined;
  if (spec.ticketKeys) {
    // HAProxy wants at least three keys and encrypts with the penultimate one.
    ticketFile = join(spec.dir, 'haproxy-tickets.key');
    writeFileSync(ticketFile, spec.ticketKeys.map((k) => k.toString('base64')).join('\n') + '\n', { mode: 0o600 });
  }
  const file = join(spec.dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(spec, pem, ticketFile));
  const spawned = spawnPinned(spec.cpus, HAPROXY, ['-db', '-f', file], { cwd: spec.dir, wrap: spec.wrap });
  try {
    await waitServing(spawned, spec.port, 'haproxy', spec.wrap ? WRAPPED_READY_MS : undefined);
  } catch (err) {
    await stopProcess(spawned);
    throw err;
  }
  return { kind: 'haproxy', label: 'haproxy', port: spec.port, pid: spawned.pid, failure: spawned.failure, stop: () => stopProcess(spawned) };
}
