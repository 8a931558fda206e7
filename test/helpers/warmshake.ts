// Runs warmshake as a real process (`bin/warmshake.ts run -c FILE`) and reads its JSON
// log lines, so tests see what an operator sees: signals, reloads, logs, exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { START_GUARD_MS } from '../../bench/ports.ts';
import { WAIT_GUARD_MS } from './wait.ts';

export const BIN = fileURLToPath(new URL('../../bin/warmshake.ts', import.meta.url));

export type LogRecord = Record<string, unknown> & { msg: string; level: number };

export interface Running {
  child: ChildProcess;
  configFile: string;
  /** Port of each frontend, by name. */
  ports: Record<string, number>;
  logs: LogRecord[];
  /** Resolves with the first log record (past or future) that matches; rejects after `timeoutMs`. */
  waitForLog (match: (r: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** Writes a new config file (for reloads). */
  rewrite (config: unknown): void;
  stop (signal?: NodeJS.Signals): Promise<number | null>;
}

/** Sets `name` in the environment the warmshake processes of this test inherit, for this test only. */
export function testEnv (t: TestContext, name: string, value: string): void {
  process.env[name] = value;
  t.after(() => { delete process.env[name]; });
}

export function writeConfig (file: string, config: unknown): void {
  // JSON is YAML, and keeps the test free of a YAML emitter.
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
}

export async function startWarmshake (t: TestContext, dir: string, config: unknown, name = 'warmshake.yaml'): Promise<Running> {
  const configFile = join(dir, name);
  writeConfig(configFile, config);
  const child = spawn(process.execPath, [BIN, 'run', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  const logs: LogRecord[] = [];
  const waiters = new Set<{ match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }>();
  let stderr = '';
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const record = JSON.parse(line) as LogRecord;
      logs.push(record);
      for (const w of waiters) if (w.match(record)) { waiters.delete(w); w.resolve(record); }
    }
  });
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => { exited = code; resolve(code); }));

  const waitForLog = (match: (r: LogRecord) => boolean, timeoutMs = WAIT_GUARD_MS): Promise<LogRecord> => {
    const found = logs.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (r: LogRecord) => { clearTimeout(timer); resolve(r); } };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching log line within ${timeoutMs} ms; exit ${String(exited)}; stderr: ${stderr}\nlast logs: ${logs.slice(-5).map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (exited === undefined) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exit;
    clearTimeout(timer);
    return code;
  };
  t.after(() => stop());

  const ready = await Promise.race([
    waitForLog((r) => r.msg === 'warmshake is serving', START_GUARD_MS),
    exit.then((code) => { throw new Error(`warmshake exited with ${String(code)} before serving: ${stderr}`); }),
  ]);
  return { child, configFile, ports: ready.ports as Record<string, number>, logs, waitForLog, rewrite: (c) => writeConfig(configFile, c), stop };
}

/**
 * A minimal valid config: one terminating frontend in front of `backendPort`, on
 * 127.0.0.1:0 (the port is read back from the log: `ports.https`) unless `port` says.
 */
export function terminateConfig (o: { engine?: 'native' | 'node'; port?: number; backendPort: number; cert: string; key: string; workers?: number; size?: number; lifetime?: string | number; tickets?: boolean; keep?: number; extraCerts?: Array<{ cert: string; key: string }>; frontend?: Record<string, unknown>; global?: Record<string, unknown>; session_cache?: Record<string, unknown> }): Record<string, unknown> {
  return {
    global: { workers: o.workers ?? 1, log: { level: 'info', format: 'json' }, ...(o.engine ? { engine: o.engine } : {}), ...o.global },
    session_cache: { size: o.size ?? 1000, lifetime: o.lifetime ?? 300, ...o.session_cache },
    tickets: { enabled: o.tickets ?? true, rotate_every: '12h', keep: o.keep ?? 2 },
    frontends: [{ name: 'https', bind: `127.0.0.1:${o.port ?? 0}`, certificates: [{ cert: o.cert, key: o.key }, ...(o.extraCerts ?? [])], backend: 'app', ...o.frontend }],
    backends: [{ name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${o.backendPort}` }] }],
  };
}
