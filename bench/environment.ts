// The machine and the versions a report was made with.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release } from 'node:os';
import { VERSION } from '../src/version.ts';

export interface Environment {
  nproc: number;
  cpuModel: string;
  kernel: string;
  loadAverage: string;
  /** The same, read when the run ended (set by run.ts). */
  loadAverageEnd?: string;
  versions: Record<string, string>;
}

function firstLine (command: string, args: string[], pattern?: RegExp): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) return 'not installed';
  const text = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  const line = text.split('\n').find((l) => (pattern ? pattern.test(l) : l.trim() !== ''));
  return line?.trim() ?? 'unknown';
}

export function loadAverageNow (): string {
  return loadavg().map((n) => n.toFixed(2)).join(' ');
}

export function describeEnvironment (): Environment {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch { /* not Linux */ }
  return {
    // What the bench may use (taskset and cgroups respected), like `nproc`.
    nproc: availableParallelism(),
    cpuModel,
    kernel: release(),
    loadAverage: loadAverageNow(),
    versions: {
      warmshake: VERSION,
      node: process.version,
      'node OpenSSL': process.versions.openssl,
      openssl: firstLine('openssl', ['version']),
      haproxy: firstLine('haproxy', ['-v']),
      'haproxy OpenSSL': firstLine('haproxy', ['-vv'], /Running on OpenSSL/),
      nginx: firstLine('nginx', ['-v']),
      'nginx OpenSSL': firstLine('nginx', ['-V'], /built with OpenSSL/),
      'redis-server': firstLine('redis-server', ['--version'])
    }
  };
}
