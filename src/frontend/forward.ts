// Client to backend, with the server judged by what it does (HAProxy's `observe layer4`
// and `retry-on conn-failure empty-response response-timeout`): until a server sends its
// first byte, the client's bytes are kept (up to REPLAY_LIMIT), so a server that resets,
// closes or stays silent for `answerTimeout` is counted as failed and the same bytes go to
// another server; the client sees nothing of it. Once the server has answered, the
// connection is spliced and only the server's own errors count against it.
import type { Socket } from 'node:net';
import type { BackendPool, PoolConnectOptions, ServerState } from '../balancer/pool.ts';
import { splice } from './splice.ts';

/** Client bytes kept for a replay; a client that sends more before any answer gets no retry. */
export const REPLAY_LIMIT = 64 * 1024;

export interface ForwardOptions extends Omit<PoolConnectOptions, 'exclude'> {
  clientAddress: string;
  /** ms a server may take to send its first byte once it has bytes to answer (0 = no limit). */
  answerTimeout: number;
  /** Idle ms on each side once the server has answered (0 = none). */
  clientTimeout: number;
  serverTimeout: number;
  /** Bytes each server gets before the client's (a PROXY header). */
  preamble?: () => Buffer | undefined;
  /** Called with each server connected, before any byte is written to it. */
  onServer?: (socket: Socket, server: ServerState) => void;
}

export interface ForwardEnd {
  /** `backend`: no server could be reached; `proxy`: the connection failed once established. */
  stage?: 'backend' | 'proxy';
  error?: string;
  server?: string;
  /** Servers that failed before answering and were replaced by another. */
  retries: number;
}

type FirstAnswer = { answered: Buffer } | { failed: string } | { gone: true } | { empty: true };

/** Connects `client` (paused) to a server of `pool` and relays both ways; `done` reports how it ended. */
export function forward (client: Socket, pool: BackendPool, o: ForwardOptions, done: (end: ForwardEnd) => void): void {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let replayable = true;
  let clientEnded = false;
  let target: Socket | undefined;
  const tried = new Set<ServerState>();
  let retries = 0;

  const onData = (chunk: Buffer): void => {
    if (replayable) {
      keptBytes += chunk.length;
      if (keptBytes > REPLAY_LIMIT) { replayable = false; kept.length = 0; } else kept.push(chunk);
    }
    target?.write(chunk);
  };
  const onEnd = (): void => { clientEnded = true; target?.end(); };
  client.on('data', onData);
  client.once('end', onEnd);
  client.pause();

  const attempt = (): void => {
    pool.connect(o.clientAddress, { ...o, exclude: tried }).then(({ socket, server }) => {
      tried.add(server);
      if (client.destroyed) { socket.destroy(); return; }
      o.onServer?.(socket, server);
      void firstAnswer(socket).then((answer) => {
        if ('answered' in answer) { relay(socket, server, answer.answered); return; }
        if ('gone' in answer || 'empty' in answer) {
          socket.destroy();
          if ('empty' in answer) client.end();
          done({ server: server.config.name, retries });
          return;
        }
        pool.observe(server, answer.failed);
        if (replayable && !client.destroyed) { retries++; attempt(); return; }
        client.destroy();
        done({ stage: 'proxy', error: `server ${server.config.name}: ${answer.failed}`, server: server.config.name, retries });
      });
    }, (err: Error) => {
      client.destroy();
      done({ stage: 'backend', error: err.message, retries });
    });
  };

  /** Sends what the client has sent so far and waits for the server's first byte. */
  const firstAnswer = (socket: Socket): Promise<FirstAnswer> => new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (timer || o.answerTimeout <= 0) return;
      timer = setTimeout(() => settle({ failed: `no answer within ${o.answerTimeout} ms` }), o.answerTimeout);
    };
    const settle = (answer: FirstAnswer): void => {
      clearTimeout(timer);
      socket.removeListener('data', onAnswer);
      socket.removeListener('error', onError);
      socket.removeListener('end', onServerEnd);
      client.removeListener('close', onGone);
      client.removeListener('data', arm);
      if (target === socket) target = undefined;
      if ('answered' in answer) {
        socket.pause();
      } else {
        socket.destroy();
        // Held while the next server is sought; its bytes wait in the socket.
        client.pause();
      }
      resolve(answer);
    };
    const onAnswer = (chunk: Buffer): void => settle({ answered: chunk });
    const onError = (err: NodeJS.ErrnoException): void => settle({ failed: err.code ?? err.message });
    // A server that closes without a byte while the client still talks has failed it; once
    // the client has ended too, an empty answer may be the protocol's.
    const onServerEnd = (): void => settle(clientEnded ? { empty: true } : { failed: 'closed the connection without answering' });
    const onGone = (): void => settle({ gone: true });
    socket.on('data', onAnswer);
    socket.once('error', onError);
    socket.once('end', onServerEnd);
    client.once('close', onGone);
    const preamble = o.preamble?.();
    if (preamble) socket.write(preamble);
    for (const chunk of kept) socket.write(chunk);
    if (keptBytes > 0) arm();
    client.on('data', arm);
    target = socket;
    if (clientEnded) socket.end();
    client.resume();
  });

  const relay = (socket: Socket, server: ServerState, first: Buffer): void => {
    client.removeListener('data', onData);
    client.removeListener('end', onEnd);
    kept.length = 0;
    pool.observe(server, undefined);
    client.write(first);
    if (clientEnded) socket.end();
    splice(client, socket, { clientTimeout: o.clientTimeout, serverTimeout: o.serverTimeout }, (err, side) => {
      // Only the server's own socket errors (reset, broken pipe) count against it: an
      // idle timeout on a quiet connection is nobody's fault.
      const code = (err as NodeJS.ErrnoException | undefined)?.code;
      if (side === 'server' && code) pool.observe(server, `${code} after answering`);
      done({ stage: err ? 'proxy' : undefined, error: err?.message, server: server.config.name, retries });
    });
    socket.resume();
  };

  attempt();
}
