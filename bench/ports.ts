// A free loopback port, for servers that cannot listen on port 0 and report it back
// (HAProxy, nginx, redis). The bench's own copy: bench/ imports nothing from test/.
import { createServer } from 'node:net';

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
