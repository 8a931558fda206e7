// Real backends for proxy tests: an HTTP server (or HTTPS, behind pass-through) and a TCP
// echo server on 127.0.0.1:0.
import { readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type RequestListener } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp, type Server } from 'node:net';
import type { TestContext } from 'node:test';

export interface Backend { port: number; server: Server }

function listen (t: TestContext, server: Server): Promise<Backend> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    t.after(() => new Promise<void>((r) => { server.close(() => r()); (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.(); }));
    resolve({ port: (server.address() as { port: number }).port, server });
  }));
}

/** Answers `body` to GET, and the length of a POST body (`got N bytes`). */
const answering = (body: string): RequestListener => (req: IncomingMessage, res) => {
  let n = 0;
  req.on('data', (c: Buffer) => { n += c.length; });
  req.on('end', () => {
    const answer = req.method === 'POST' ? `got ${n} bytes\n` : body;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
};

/** Answers `body` (`hello from backend`) to GET, and echoes the length of a POST body (`got N bytes`). */
export function httpBackend (t: TestContext, body = 'hello from backend\n'): Promise<Backend> {
  return listen(t, createHttp(answering(body)));
}

/** The same over TLS with `cert` (files), for a pass-through frontend: the client's handshake reaches it. */
export function httpsBackend (t: TestContext, cert: { cert: string; key: string }, body = 'hello from backend\n'): Promise<Backend> {
  return listen(t, createHttps({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, answering(body)));
}

/** Echoes every byte back; ends when the client ends. */
export function echoBackend (t: TestContext): Promise<Backend> {
  const server = createTcp({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  return listen(t, server);
}

/** A port on 127.0.0.1 nothing listens on (bound, read, closed): a connect to it is refused at once. */
export function closedPort (): Promise<number> {
  const server = createTcp();
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    server.close(() => resolve(port));
  }));
}
