// Ports without races, for the tests and the bench (bench/ imports nothing from test/). A server in this process listens on port 0 and
// reads `address().port`; warmshake is given `bind: 127.0.0.1:0` and logs the port it
// got. A process we start that can pick its own port prints it (`openssl s_server
// -accept 127.0.0.1:0` says `ACCEPT 127.0.0.1:PORT`): `printedPort`. One that cannot
// (redis-server has no `--port 0`) goes through `onFreshPort`: the kernel names a free
// port (a port-0 probe), the process is started on it, and if it could not bind it
// because someone took it in between, it is started again on a new one. Nothing here
// hands on a number and hopes.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * Port 1 (tcpmux, privileged): nothing listens there on a test machine and nothing here
 * binds it, so 127.0.0.1:1 refuses every connection at once: the tests' dead server,
 * with no number handed on.
 */
export const CLOSED_PORT = 1;

/** Generous: a guard against a process that never starts, not a timing assertion. */
export const START_GUARD_MS = 60_000;

/**
 * A port the kernel had free a moment ago. For `onFreshPort` (which retries when it was
 * taken), for the bench's own servers (HAProxy, nginx), which run alone, and for a test
 * whose warmshake must fail before it listens (it cannot report a port 0 back); never
 * for a server a test then talks to.
 */
export function probePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts something that needs a concrete port: `start(port)` resolves with the started
 * thing, or with undefined when the port turned out to be taken (the process exited
 * or said "Address already in use"); then it is tried again on a fresh port.
 */
export async function onFreshPort<T> (what: string, start: (port: number) => Promise<T | undefined>, attempts = 8): Promise<T> {
  const tried: number[] = [];
  for (let i = 0; i < attempts; i++) {
    const port = await probePort();
    tried.push(port);
    const started = await start(port);
    if (started !== undefined) return started;
  }
  throw new Error(`${what} could not bind any of the ports ${tried.join(', ')}`);
}

/**
 * The port a child prints once it listens (the first capture group of `pattern` on its
 * stdout); rejects if it exits first or prints nothing for START_GUARD_MS. Keeps
 * draining stdout afterwards, so a chatty server never blocks on a full pipe.
 */
export function printedPort (child: ChildProcess, pattern: RegExp, what: string): Promise<number> {
  let out = '';
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(`printed no port within ${START_GUARD_MS} ms`), START_GUARD_MS);
    const onExit = (code: number | null): void => fail(`exited with ${String(code)} before listening`);
    function fail (why: string): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      reject(new Error(`${what} ${why}: ${out.slice(0, 2000)}`));
    }
    child.once('exit', onExit);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (out.length < 8192) out += chunk.toString();
      const m = pattern.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(Number(m[1]));
    });
  });
}
