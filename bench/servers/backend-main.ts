// The trivial backend every server proxies to: answers any bytes with one fixed HTTP
// response and closes. A process of its own, pinned with the load generator, so its CPU
// is charged to no server. Prints its port on stdout.
import { createServer } from 'node:net';

const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n');

const server = createServer((socket) => {
  socket.on('error', () => {});
  socket.once('data', () => socket.end(RESPONSE));
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
