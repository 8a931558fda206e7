// Spawning a server pinned to CPUs with taskset, waiting until it completes a TLS
// handshake, and stopping it. taskset execs the server, so the child's pid is the
// server's own (what /proc sampling needs).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { handshake } from '../../src/cli/handshake.ts';

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** How the process ended before anyone stopped it, with its last output; undefined while it runs. */
  failure (): string | undefined;
  /** Set by stopProcess, so an exit asked for is not reported as a failure. */
  stopping: boolean;
  /** Last lines of stdout and stderr, for error messages. */
  output (): string;
  exited: Promise<number | null>;
}

const OUTPUT_KEEP = 4000;
/** A server under valgrind starts some 50 times slower. */
export const WRAPPED_READY_MS = 300_000;

export function spawnPinned (cpus: string, command: string, args: string[], options: { cwd?: string; env?: Record<string, string>; wrap?: string[] } = {}): Spawned {
  const child = spawn('taskset', ['-c', cpus, ...(options.wrap ?? []), command, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let output = '';
  const keep = (chunk: Buffer): void => { output = (output + chunk.toString()).slice(-OUTPUT_KEEP); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let failure: string | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => {
    if (!spawned.stopping) failure = `exited (${signal ?? code}): ${output.slice(-1000)}`;
    resolve(code);
  }));
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const spawned: Spawned = { child, pid: child.pid, output: () => output, exited, failure: () => failure, stopping: false };
  return spawned;
}

/**
 * Resolves once a TLS handshake on `port` succeeds; rejects when the process exits first
 * or after `ms`. A server with several threads gets a moment more so every thread listens.
 */
export async function waitServing (spawned: Spawned, port: number, name: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let exitCode: number | null | undefined;
  void spawned.exited.then((code) => { exitCode = code; });
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`${name} exited (${String(exitCode)}) before serving: ${spawned.output()}`);
    const outcome = await handshake({
      host: '127.0.0.1', port, servername: 'localhost', tls: undefined, tickets: true,
      session: undefined, timeoutMs: 1000, ticketWaitMs: 0, send: 0
    });
    if (outcome.ok) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not serve on port ${port} within ${ms} ms: ${spawned.output()}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess (spawned: Spawned, graceMs = 5000): Promise<void> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  spawned.stopping = true;
  spawned.child.kill('SIGTERM');
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), graceMs);
  await spawned.exited;
  clearTimeout(timer);
}
