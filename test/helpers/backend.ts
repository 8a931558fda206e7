// Real backends for proxy tests: an HTTP server and a TCP echo server on 127.0.0.1:0.
import { createServer as createHttp, type IncomingMessage } from 'node:http';
import { createServer as createTcp, type Server } from 'node:net';
import type { TestContext } from 'node:test';

export interface Backend { port: number; server: Server }

function listen (t: TestContext, server: Server): Promise<Backend> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    t.after(() => new Promise<void>((r) => { server.close(() => r()); (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.(); }));
    resolve({ port: (server.address() as { port: number }).port, server });
  }));
}

/** Answers `body` (`hello from backend`) to GET, and echoes the length of a POST body (`got N bytes`). */
export function httpBackend (t: TestContext, body = 'hello from backend\n'): Promise<Backend> {
  const server = createHttp((req: IncomingMessage, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; });
    req.on('end', () => {
      const answer = req.method === 'POST' ? `got ${n} bytes\n` : body;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  return listen(t, server);
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
