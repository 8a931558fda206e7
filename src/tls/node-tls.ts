// Everything warmshake relies on that is not Node's public TLS API, in one file, so that a
// Node upgrade that changes it breaks this file and test/tls/node-tls.test.ts, not the
// frontends. Node's tls.Server does three things for the sockets it accepts that a
// TLSSocket built over an already-read socket (the ClientHello was peeked first) must get
// another way (lib/_tls_wrap.js):
//  - it passes itself as `server`, and the socket emits `newSession` / `resumeSession` on
//    it: a small duck-typed object per connection lets each connection carry its own
//    session callbacks (its SNI, its client, the PSK identity read from its ClientHello);
//  - handshake errors of a server socket are emitted as `_tlsError` (the server turns them
//    into `tlsClientError`) until `_releaseControl()` hands errors back to the socket;
//  - on `secure` it calls `_releaseControl()`.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext, type Server } from 'node:tls';

/** The external session cache: what Node's tls.Server emits as `resumeSession` and `newSession`. */
export interface SessionCallbacks {
  resume (id: Buffer, callback: (err: Error | null, session?: Buffer) => void): void;
  newSession (id: Buffer, session: Buffer, done: () => void): void;
}

export interface ServerSocketOptions {
  secureContext: SecureContext;
  ALPNProtocols?: string[];
  session: SessionCallbacks;
}

/** The server side of TLS over `raw`, with the session cache callbacks of this connection. */
export function serverSocket (raw: Socket, options: ServerSocketOptions): TLSSocket {
  const { session } = options;
  const server = {
    listenerCount: (event: string): number => event === 'newSession' || event === 'resumeSession' ? 1 : 0,
    emit: (event: string, ...args: unknown[]): boolean => {
      if (event === 'resumeSession') session.resume(args[0] as Buffer, args[1] as Parameters<SessionCallbacks['resume']>[1]);
      else if (event === 'newSession') session.newSession(args[0] as Buffer, args[1] as Buffer, args[2] as () => void);
      else return false;
      return true;
    },
  };
  return new TLSSocket(raw, {
    isServer: true,
    server: server as unknown as Server,
    secureContext: options.secureContext,
    ALPNProtocols: options.ALPNProtocols,
  });
}

/**
 * Calls `listener` with the handshake errors of a server socket (Node emits them as
 * `_tlsError`, and as `error` for the rest); returns a function that stops listening.
 */
export function onHandshakeError (socket: TLSSocket, listener: (err: Error) => void): () => void {
  socket.on('_tlsError', listener);
  socket.on('error', listener);
  return () => {
    socket.removeListener('_tlsError', listener);
    socket.removeListener('error', listener);
  };
}

/** What tls.Server does once a socket is secure: later errors are the socket's own `error` events. */
export function releaseControl (socket: TLSSocket): void {
  (socket as unknown as { _releaseControl (): boolean })._releaseControl();
}

/**
 * Loads `session` into the socket's handle once more, right after `resumeSession` answered
 * with it (Node's onSession loaded it and let the handshake go on). Node's get-session
 * callback hands OpenSSL its loaded session once (`next_sess_.release()` in
 * src/crypto/crypto_tls.cc), but after a HelloRetryRequest OpenSSL asks again for the
 * PSK of the second ClientHello, and Node has nothing left: a TLS 1.3 stateful session
 * could not resume after an HRR. Loaded again, the second ask finds it; when none comes
 * (no HRR) it is freed with the handle.
 */
export function reloadSession (socket: TLSSocket, session: Buffer): void {
  const handle = (socket as unknown as { _handle: { loadSession? (session: Buffer): void } | null })._handle;
  handle?.loadSession?.(session);
}

