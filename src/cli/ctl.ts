// The client side of the admin socket: one command, the whole answer, like `socat`.
import { connect } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { AdminUnreachableError } from '../errors.ts';

/** Where `ctl` looks without `-s` (the `global.admin.socket` of a config next to it, by convention). */
export const DEFAULT_SOCKET = './warmshake.sock';

/** What to say when nothing answers on `path`: the path tried, and where the sockets usually are. */
function noSocket (path: string, code: string | undefined): string {
  const why = code === 'ENOENT' ? 'no such socket' : code === 'ECONNREFUSED' ? 'nothing listens on it (a stale socket file)'
    : 'permission denied: run ctl as the user warmshake runs as';
  return `no admin socket at ${resolvePath(path)} (${why}). Pass the socket of global.admin.socket with -s PATH; ` +
    'the demo (warmshake run without a config) prints its socket in its "demo:" log line (TMPDIR/warmshake-demo-*/warmshake.sock)';
}

export function sendAdminCommand (socketPath: string, line: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(socketPath);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.end(`${line}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => reject(['ENOENT', 'ECONNREFUSED', 'EACCES'].includes(err.code ?? '')
      ? new AdminUnreachableError(noSocket(socketPath, err.code))
      : new AdminUnreachableError(`admin socket ${socketPath}: ${err.message}`)));
    socket.on('close', (hadError) => { if (!hadError) resolve(Buffer.concat(chunks).toString('utf8')); });
  });
}
