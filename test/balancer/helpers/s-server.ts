// `openssl s_server -www` backends for the pass-through and backend-TLS tests: each one
// its own process with its own session cache and ticket key, as real backends are.
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import type { CertFiles } from '../../helpers/certs.ts';
import { run } from '../../helpers/peers.ts';
import { freePort } from '../../../bench/ports.ts';

export interface SServer {
  port: number;
  /** Stops it (SIGKILL) and waits for the exit. */
  stop (): Promise<void>;
}

/** A guard against a server that never starts, not a timing assertion. */
const START_GUARD_MS = 10_000;

function started (child: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(false), START_GUARD_MS);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ACCEPT')) { clearTimeout(timer); resolve(true); }
    });
    child.once('exit', () => { clearTimeout(timer); resolve(false); });
  });
}

/** Starts `openssl s_server -www` on a free loopback port with `args` added; stopped after the test. */
export async function startSServer (t: TestContext, cert: CertFiles, args: string[] = []): Promise<SServer> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn('openssl', ['s_server', '-www', '-accept', `127.0.0.1:${port}`, '-cert', cert.cert, '-key', cert.key, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.resume();
    child.on('error', () => {});
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    };
    if (await started(child)) {
      child.stdout!.resume();
      t.after(stop);
      return { port, stop };
    }
    await stop(); // the port was taken in between: try another
  }
  throw new Error('openssl s_server did not start');
}

export interface ClientRun {
  stdout: string;
  /** Connections that said `Reused` / `New`. */
  reused: number;
  fresh: number;
}

/**
 * One `openssl s_client` run against 127.0.0.1:`port` with `args`; sends an HTTP/1.0
 * request so the `-www` server answers and closes (with -reconnect nothing is sent: the
 * reconnections happen right after the first handshake and stdin's end closes the last).
 */
export async function sClient (port: number, args: string[]): Promise<ClientRun> {
  const reconnect = args.includes('-reconnect');
  const extra = reconnect ? [] : ['-ign_eof'];
  const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...extra, ...args], reconnect ? '' : 'GET / HTTP/1.0\r\n\r\n');
  // The -www page repeats the server's own "New, ..." line: count only s_client's, before the page.
  const own = r.stdout.split(/^HTTP\/1\.0 200/m)[0];
  return {
    stdout: r.stdout,
    reused: (own.match(/^Reused,/gm) ?? []).length,
    fresh: (own.match(/^New,/gm) ?? []).length,
  };
}

/** The numbers `s_server -www` prints about its own session cache (`N session cache hits` ...). */
export function sServerStats (page: string): Record<string, number> {
  const stats: Record<string, number> = {};
  for (const m of page.matchAll(/^\s*(\d+) ([a-z][a-z ()_]+?)\s*$/gm)) stats[m[2]] = Number(m[1]);
  return stats;
}
