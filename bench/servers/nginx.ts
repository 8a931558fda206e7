// nginx (Debian `nginx`) as the second anchor: the `stream` module (Debian package
// libnginx-mod-stream) with `listen ... ssl` and `proxy_pass`, the TCP equivalent of
// warmshake. Its shared session cache is sized in bytes; nginx documents about 4000
// sessions per megabyte, so `size` sessions get ceil(size / 4000) MB.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CIPHERS, DEFAULT_CIPHERSUITES } from '../../src/config/schema.ts';
import { spawnPinned, stopProcess, waitServing } from './process.ts';
import type { RunningServer, ServerSpec } from './types.ts';

export const NGINX = '/usr/sbin/nginx';
export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
const SESSIONS_PER_MB = 4000;

export function nginxCacheMegabytes (sessions: number): number {
  return Math.max(1, Math.ceil(sessions / SESSIONS_PER_MB));
}

export function nginxConfig (spec: ServerSpec, ticketFile: string | undefined): string {
  return [
    'daemon off;',
    'master_process on;',
    'user nobody nogroup;',
    `worker_processes ${spec.threads};`,
    `pid ${join(spec.dir, 'nginx.pid')};`,
    `error_log ${join(spec.dir, 'error.log')} warn;`,
    `load_module ${NGINX_STREAM_MODULE};`,
    `events { worker_connections ${spec.maxConnections ?? 8000}; }`,
    'stream {',
    `  upstream be { server 127.0.0.1:${spec.backendPort}; }`,
    '  server {',
    `    listen 127.0.0.1:${spec.port} ssl;`,
    `    ssl_certificate ${spec.cert};`,
    `    ssl_certificate_key ${spec.key};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    `    ssl_ciphers ${DEFAULT_CIPHERS};`,
    `    ssl_conf_command Ciphersuites ${DEFAULT_CIPHERSUITES};`,
    `    ssl_session_cache shared:SSL:${nginxCacheMegabytes(spec.cacheSize)}m;`,
    `    ssl_session_timeout ${spec.lifetime}s;`,
    `    ssl_session_tickets ${spec.tickets ? 'on' : 'off'};`,
    ...(ticketFile ? [`    ssl_session_ticket_key ${ticketFile};`] : []),
    '    proxy_connect_timeout 5s;',
    '    proxy_timeout 30s;',
    `    proxy_pass be;`,
    '  }',
    '}',
    ''
  ].join('\n');
}

/** Why nginx cannot take part, or undefined. */
export function nginxMissing (): string | undefined {
  if (!existsSync(NGINX)) return 'nginx is not installed (apt-get install nginx)';
  if (!existsSync(NGINX_STREAM_MODULE)) return 'the nginx stream module is not installed (apt-get install libnginx-mod-stream)';
  return undefined;
}

export async function startNginx (spec: ServerSpec): Promise<RunningServer> {
  let ticketFile: string | undefined;
  if (spec.ticketKeys) {
    // nginx encrypts with the first key file; one shared 48-byte file is enough here.
    ticketFile = join(spec.dir, 'nginx-ticket.key');
    writeFileSync(ticketFile, spec.ticketKeys[0], { mode: 0o600 });
  }
  const file = join(spec.dir, 'nginx.conf');
  writeFileSync(file, nginxConfig(spec, ticketFile));
  const spawned = spawnPinned(spec.cpus, NGINX, ['-p', spec.dir, '-c', file, '-e', join(spec.dir, 'error.log')], { cwd: spec.dir });
  try {
    await waitServing(spawned, spec.port, 'nginx');
  } catch (err) {
    await stopProcess(spawned);
    throw err;
  }
  return { kind: 'nginx', label: 'nginx', port: spec.port, pid: spawned.pid, failure: spawned.failure, stop: () => stopProcess(spawned) };
}
