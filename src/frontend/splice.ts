// Joins a client and a backend connection: both directions, half-close honoured (a
// client that ends its request still gets the whole response; both sockets need
// allowHalfOpen), idle timeouts on each side, and one callback when both are gone.
import type { Socket } from 'node:net';

export interface SpliceOptions {
  /** Idle ms before the connection is closed (0 = never). */
  clientTimeout: number;
  serverTimeout: number;
}

/** `side` says which socket failed first: a server's resets count against it (passive health). */
export function splice (client: Socket, server: Socket, options: SpliceOptions, onDone: (error?: Error, side?: 'client' | 'server') => void): void {
  let firstError: Error | undefined;
  let failedSide: 'client' | 'server' | undefined;
  let open = 2;
  const closed = (): void => { if (--open === 0) onDone(firstError, failedSide); };
  const fail = (err: Error, side: 'client' | 'server'): void => {
    if (!firstError) { firstError = err; failedSide = side; }
    client.destroy();
    server.destroy();
  };
  const sides = [[client, options.clientTimeout, 'client'], [server, options.serverTimeout, 'server']] as const;
  for (const [socket, timeout, side] of sides) {
    socket.on('error', (err) => fail(err, side));
    socket.once('close', closed);
    // With allowHalfOpen nobody closes a socket whose two halves are done; do it here.
    const closeWhenDone = (): void => { if (socket.readableEnded && socket.writableFinished) socket.destroy(); };
    socket.on('end', closeWhenDone);
    socket.on('finish', closeWhenDone);
    if (timeout > 0) socket.setTimeout(timeout, () => fail(new Error(`${side} idle for ${timeout} ms`), side));
  }
  client.pipe(server);
  server.pipe(client);
}
