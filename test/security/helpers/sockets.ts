// Raw TCP clients for hostile-input and access tests: what the client sent, what it
// got back, and how long the server took to close on it. Time is measured from the
// client's `connect` so a slow accept on a loaded machine counts against warmshake.
import { connect, createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface Closed {
  /** Bytes the server sent before closing, and the first few of them. */
  received: number;
  head: Buffer;
  /** Milliseconds from connect to close; undefined when the connection never opened. */
  closedAfter: number | undefined;
  error?: string;
}

export interface RawOptions {
  port: number;
  host?: string;
  localAddress?: string;
  /** Written once connected. */
  payload?: Buffer;
  /** Half-close after the payload (a client that gives up), rather than hold. */
  end?: boolean;
  /** Destroy from our side after this long, so a bug cannot hang the test. */
  giveUpMs?: number;
}

/** Connects, writes `payload`, then waits for the server to close the connection. */
export function rawClient (o: RawOptions): Promise<Closed> {
  return new Promise((resolve) => {
    let opened: number | undefined;
    let received = 0;
    let head = Buffer.alloc(0);
    let error: string | undefined;
    const s: Socket = connect({ port: o.port, host: o.host ?? '127.0.0.1', localAddress: o.localAddress });
    const giveUp = setTimeout(() => { error = `still open after ${o.giveUpMs} ms`; s.destroy(); }, o.giveUpMs ?? 15_000);
    s.on('connect', () => {
      opened = performance.now();
      if (o.payload) s.write(o.payload);
      if (o.end) s.end();
    });
    s.on('data', (c: Buffer) => {
      received += c.length;
      if (head.length < 16) head = Buffer.concat([head, c]).subarray(0, 16);
    });
    s.on('error', (err: NodeJS.ErrnoException) => { error ??= err.code ?? err.message; });
    s.on('close', () => {
      clearTimeout(giveUp);
      resolve({ received, head, closedAfter: opened === undefined ? undefined : performance.now() - opened, error });
    });
  });
}

/** The first flight of a real TLS client (Node's), captured by a throwaway listener. */
export function captureClientHello (servername = 'localhost'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.once('data', (hello: Buffer) => {
        socket.destroy();
        server.close();
        resolve(hello);
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      const client = tlsConnect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false });
      client.on('error', () => {});
    });
    server.on('error', reject);
  });
}

export interface TlsRequest {
  ok: boolean;
  body: string;
  error?: string;
}

/** One TLS connection that sends `GET /` and reads the answer to the end. */
export function tlsGet (port: number, localAddress?: string, host = '127.0.0.1'): Promise<TlsRequest> {
  return new Promise((resolve) => {
    let body = '';
    const s = tlsConnect({ socket: connect({ port, host, localAddress }), servername: 'localhost', rejectUnauthorized: false }, () => s.write('GET / HTTP/1.0\r\n\r\n'));
    s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
    s.on('data', (c: Buffer) => { body += c.toString(); });
    s.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, body, error: err.code ?? err.message }));
    s.on('end', () => resolve({ ok: /hello from backend/.test(body), body }));
  });
}

/** A TLS connection that completes its handshake and then stays open until `close()`. */
export interface Held { ok: boolean; error?: string; close (): Promise<void> }

export function holdTls (port: number, localAddress: string): Promise<Held> {
  return new Promise((resolve) => {
    const s = tlsConnect({ socket: connect({ port, host: '127.0.0.1', localAddress }), servername: 'localhost', rejectUnauthorized: false });
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    const close = async (): Promise<void> => { s.destroy(); await closed; };
    s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
    s.once('secureConnect', () => { s.setTimeout(0); resolve({ ok: true, close }); });
    s.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message, close }));
    s.once('close', () => resolve({ ok: false, error: 'closed before the handshake', close }));
  });
}

/**
 * A TLS 1.3 client that leaves the moment its side of the handshake is done: its
 * Finished may never reach the server, which then sees the connection end mid-handshake.
 */
export function hitAndRun (port: number, localAddress: string): Promise<void> {
  return new Promise((resolve) => {
    const s = tlsConnect({ socket: connect({ port, host: '127.0.0.1', localAddress }), servername: 'localhost', rejectUnauthorized: false, minVersion: 'TLSv1.3' },
      () => { s.destroy(); resolve(); });
    s.on('error', () => resolve());
  });
}
