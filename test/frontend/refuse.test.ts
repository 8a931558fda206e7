// refuseWithAlert over real loopback sockets, set up as a frontend's are (half-open
// allowed, the socket paused by the hello reader): the client reads the alert and
// nothing else, then a clean close; and the server side never waits on a client that
// does not play along (never reads nor leaves; keeps sending). Each case waits for the
// server socket's 'close' event; the test timeout turns a hang into a failure.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { refuseWithAlert, type RefuseOptions } from '../../src/frontend/refuse.ts';
import { ALERT } from '../../src/tls/alerts.ts';

const HANG_GUARD = { timeout: 30_000 };

/** A listener that refuses every connection once its first bytes arrive; resolves each server socket's close. */
async function refuser (t: TestContext, options: Partial<RefuseOptions>): Promise<{ port: number; closed: Array<Promise<void>> }> {
  const closed: Array<Promise<void>> = [];
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    socket.on('error', () => {});
    closed.push(once(socket, 'close').then(() => undefined));
    socket.once('data', () => {
      socket.pause();
      refuseWithAlert(socket, ALERT.illegalParameter, options);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return { port: (server.address() as { port: number }).port, closed };
}

async function client (port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

test('a client that reads gets the one fatal alert record, then a clean close', HANG_GUARD, async (t) => {
  const { port, closed } = await refuser(t, { lingerMs: 60_000 });
  const socket = await client(port);
  const got: Buffer[] = [];
  socket.on('data', (c: Buffer) => got.push(c));
  let error: string | undefined;
  socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code; });
  // More than the first read, as the rest of an oversized hello would be: dropped, not a reset.
  socket.write(Buffer.alloc(20_000, 22));
  await once(socket, 'close');
  assert.deepEqual([...Buffer.concat(got)], [21, 3, 3, 0, 2, 2, 47]);
  assert.equal(error, undefined, 'closed by FIN, not reset');
  await closed[0];
});

test('a client that neither reads nor leaves is let go at the deadline', HANG_GUARD, async (t) => {
  const { port, closed } = await refuser(t, { lingerMs: 100 });
  const socket = await client(port);
  socket.pause();
  socket.write('x');
  await closed[0];
  socket.destroy();
});

test('a client that keeps sending is cut once it sent more than maxDrainBytes', HANG_GUARD, async (t) => {
  const { port, closed } = await refuser(t, { lingerMs: 600_000, maxDrainBytes: 64 * 1024 });
  const socket = await client(port);
  socket.pause();
  const chunk = Buffer.alloc(16 * 1024, 1);
  socket.write('x');
  // Writes until the server cuts (the write fails and the socket closes); 600 s of linger rules out the deadline.
  const cut = new Promise((resolve) => socket.once('close', resolve));
  const pump = (): void => {
    while (!socket.destroyed && socket.write(chunk)) { /* until the buffer is full */ }
    if (!socket.destroyed) socket.once('drain', pump);
  };
  pump();
  await cut;
  await closed[0];
  socket.destroy();
});
