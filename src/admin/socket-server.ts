// The admin unix socket: one command per line, the answer ends the connection, so
// `echo "show info" | socat - UNIX-CONNECT:/run/warmshake.sock` works. Mode 0600: the
// commands can empty the cache and rotate keys.
import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { AddressInUseError, StartupError } from '../errors.ts';
import { heldBy, holderOfSocket } from '../runtime/address-holder.ts';
import type { Logger } from '../runtime/logger.ts';
import { MAX_COMMAND_BYTES } from './commands.ts';

export interface AdminSocketOptions {
  /** Longest line read; beyond it the connection gets an error line. */
  maxLineBytes: number;
  /** A connection that sends no full line within this is closed, ms. */
  idleTimeout: number;
  maxConnections: number;
  mode: number;
}

export const DEFAULT_ADMIN_SOCKET_OPTIONS: AdminSocketOptions = Object.freeze({
  maxLineBytes: MAX_COMMAND_BYTES,
  idleTimeout: 10_000,
  maxConnections: 32,
  mode: 0o600,
});

export interface AdminSocket {
  readonly path: string;
  close (): Promise<void>;
}

/** Removes a socket file left by a process that is gone; refuses if one still answers on it. */
async function removeStale (path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new StartupError(`admin socket ${path}: exists and is not a socket; not removing it`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new AddressInUseError(`admin socket ${path} is already in use${heldBy(holderOfSocket(path))}; stop that process or change global.admin.socket`);
  await unlink(path);
}

export async function listenAdminSocket (
  path: string,
  handle: (line: string) => Promise<string>,
  log: Logger,
  options: Partial<AdminSocketOptions> = {},
): Promise<AdminSocket> {
  const o = { ...DEFAULT_ADMIN_SOCKET_OPTIONS, ...options };
  const sockets = new Set<Socket>();
  // allowHalfOpen: `socat` and `warmshake ctl` send the line then shut their side; the
  // answer still has to go back.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setTimeout(o.idleTimeout, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let answered = false;
    const answer = (line: string | undefined): void => {
      if (answered) return;
      answered = true;
      socket.removeAllListeners('data');
      const reply = line === undefined
        ? Promise.resolve(`Unknown command: line over ${o.maxLineBytes} bytes\n`)
        : handle(line).catch((err: Error) => `Error: ${err.message}\n`);
      void reply.then((text) => { if (!socket.destroyed) socket.end(text); });
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const nl = buffered.indexOf(0x0a);
      if (nl >= 0 && nl <= o.maxLineBytes) answer(buffered.subarray(0, nl).toString('utf8').replace(/\r$/, ''));
      else if (buffered.length > o.maxLineBytes) answer(undefined);
    });
    // A last line without a newline (printf 'show info' | socat ...) counts too.
    socket.on('end', () => answer(buffered.toString('utf8')));
  });
  server.maxConnections = o.maxConnections;
  await removeStale(path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new StartupError(`admin socket ${path}: ${err.message}; check global.admin.socket and its directory`, { cause: err })));
    server.listen(path, () => { server.removeAllListeners('error'); resolve(); });
  });
  await chmod(path, o.mode);
  server.on('error', (err) => log.error({ err: err.message, path }, 'admin socket error'));
  log.info({ path }, 'admin socket listening');
  return {
    path,
    async close () {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await unlink(path).catch(() => {});
    },
  };
}
