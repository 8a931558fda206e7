// warmshake under test: `bin/warmshake.ts run -c FILE` with the spec turned into its
// config. Logs at `warn`: per-handshake logs are `info`, and HAProxy and nginx (stream)
// log nothing per connection here either. Readiness is a completed handshake, since the
// `warmshake is serving` line is an `info` line too.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnPinned, stopProcess, waitServing, WRAPPED_READY_MS } from './process.ts';
import type { RunningServer, ServerSpec } from './types.ts';

const BIN = fileURLToPath(new URL('../../bin/warmshake.ts', import.meta.url));

export function warmshakeConfig (spec: ServerSpec): Record<string, unknown> {
  const tickets: Record<string, unknown> = { enabled: spec.tickets, rotate_every: '12h', keep: 2 };
  if (spec.ticketKeys && !spec.redis) {
    const file = join(spec.dir, 'tickets.key');
    writeFileSync(file, spec.ticketKeys.map((k) => k.toString('base64')).join('\n') + '\n', { mode: 0o600 });
    tickets.key_file = file;
  }
  return {
    global: {
      workers: spec.threads, log: { level: spec.logLevel ?? 'warn' },
      ...(spec.engine ? { engine: spec.engine } : {}),
      ...(spec.adminSocket ? { admin: { socket: spec.adminSocket } } : {})
    },
    session_cache: {
      size: spec.cacheSize,
      lifetime: spec.lifetime,
      ...(spec.redis ? { redis: { url: spec.redis.url, key_file: [spec.redis.keyFile], timeout: '50ms' } } : {})
    },
    tickets,
    frontends: [{
      name: 'https', bind: `127.0.0.1:${spec.port}`, mode: 'terminate',
      certificates: [{ cert: spec.cert, key: spec.key }], backend: 'app'
    }],
    backends: [{ name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${spec.backendPort}` }] }]
  };
}

export function warmshakeLabel (spec: ServerSpec): string {
  if (spec.redis) return 'warmshake+redis';
  return spec.engine ? `warmshake ${spec.engine}` : 'warmshake';
}

export async function startWarmshake (spec: ServerSpec, label = warmshakeLabel(spec)): Promise<RunningServer> {
  const file = join(spec.dir, 'warmshake.json');
  // JSON is YAML.
  writeFileSync(file, JSON.stringify(warmshakeConfig(spec), null, 2));
  const spawned = spawnPinned(spec.cpus, process.execPath, [
    '--disable-warning=ExperimentalWarning', ...(spec.execArgv ?? []), BIN, 'run', '-c', file
  ], { cwd: spec.dir, env: spec.env, wrap: spec.wrap });
  try {
    await waitServing(spawned, spec.port, label, spec.wrap ? WRAPPED_READY_MS : undefined);
  } catch (err) {
    await stopProcess(spawned);
    throw err;
  }
  return { kind: 'warmshake', label, port: spec.port, pid: spawned.pid, failure: spawned.failure, stop: () => stopProcess(spawned, 15_000) };
}
