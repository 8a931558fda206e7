// The Node internals warmshake relies on (src/tls/node-tls.ts), checked against the Node
// that runs the suite: if one of these fails after a Node upgrade, the terminator no
// longer sees session cache callbacks or handshake errors. Fix node-tls.ts, not this test.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { constants } from 'node:crypto';
import { createSecureContext, TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { onHandshakeError, releaseControl, reloadSession, serverSocket, type SessionCallbacks } from '../../src/tls/node-tls.ts';
import { tempDir } from '../helpers/certs.ts';
import { sClient } from '../helpers/peers.ts';
import { makeCertificate, nodeSession } from './helpers/peers.ts';

const CHANGED = 'Node changed a TLS internal that src/tls/node-tls.ts relies on';

/** A TCP server whose accepted sockets go through `serve`; closed with the test. */
async function listen (t: TestContext, serve: (raw: Socket) => void): Promise<number> {
  const server = createServer(serve);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return (server.address() as { port: number }).port;
}

test('the duck-typed server gets newSession, then resumeSession with the same id, and the session resumes', async (t) => {
  const { key, cert } = makeCertificate(t);
  const secureContext = createSecureContext({ key, cert, sessionIdContext: 'node-tls-test', secureOptions: constants.SSL_OP_NO_TICKET });
  const cache = new Map<string, Buffer>();
  const asked: string[] = [];
  const session: SessionCallbacks = {
    newSession (id, data, done) { cache.set(id.toString('hex'), data); done(); },
    resume (id, callback) { asked.push(id.toString('hex')); callback(null, cache.get(id.toString('hex'))); },
  };
  const port = await listen(t, (raw) => {
    const socket = serverSocket(raw, { secureContext, session });
    socket.on('error', () => {});
    socket.once('secure', () => { releaseControl(socket); socket.end('ok'); });
  });
  const first = await nodeSession(port, { maxVersion: 'TLSv1.2' });
  assert.equal(first.reused, false);
  assert.equal(cache.size, 1, `${CHANGED}: newSession was not emitted on the server object`);
  const second = await nodeSession(port, { maxVersion: 'TLSv1.2', session: first.session });
  assert.deepEqual(asked, [...cache.keys()], `${CHANGED}: resumeSession was not emitted with the session id`);
  assert.equal(second.reused, true, `${CHANGED}: the session given to resumeSession's callback did not resume`);
});

test('a handshake error of a server socket arrives as _tlsError, and _releaseControl is there to stop that', async (t) => {
  const { key, cert } = makeCertificate(t);
  const secureContext = createSecureContext({ key, cert });
  const seen: Array<{ event: string; err: Error }> = [];
  let resolve: () => void;
  const failed = new Promise<void>((r) => { resolve = r; });
  const port = await listen(t, (raw) => {
    const socket = serverSocket(raw, { secureContext, session: { newSession: (_i, _s, done) => done(), resume: (_i, cb) => cb(null) } });
    socket.on('_tlsError', (err: Error) => seen.push({ event: '_tlsError', err }));
    onHandshakeError(socket, () => resolve());
  });
  // Not TLS at all: the server's handshake fails on the first record.
  const client = connect({ port, host: '127.0.0.1' }, () => client.write('GET / HTTP/1.0\r\n\r\n'));
  client.on('error', () => {});
  t.after(() => client.destroy());
  await failed;
  assert.ok(seen.length > 0, `${CHANGED}: a handshake error did not come as '_tlsError'`);
  assert.match(seen[0]!.err.message, /.+/);
  assert.equal(typeof (TLSSocket.prototype as unknown as { _releaseControl?: unknown })._releaseControl, 'function',
    `${CHANGED}: TLSSocket.prototype._releaseControl is gone`);
});

// OpenSSL asks for the PSK's session once per ClientHello, so twice after a
// HelloRetryRequest (a P-521 share first, X25519 preferred); Node hands over the session
// resumeSession loaded only once (crypto_tls.cc GetSessionCallback: next_sess_.release()).
test('after a HelloRetryRequest a TLS 1.3 stateful session resumes only when reloadSession loads it again for the second ClientHello', async (t) => {
  const { key, cert } = makeCertificate(t);
  const secureContext = createSecureContext({ key, cert, sessionIdContext: 'node-tls-test', minVersion: 'TLSv1.3', secureOptions: constants.SSL_OP_NO_TICKET });
  let last: Buffer | undefined; // the client keeps its last ticket; Node's legacy id is random in TLS 1.3
  let reload = true;
  const port = await listen(t, (raw) => {
    const socket = serverSocket(raw, { secureContext, session: {
      newSession (_id, data, done) { last = data; done(); },
      resume (_id, callback) { const s = last; callback(null, s); if (reload && s) reloadSession(socket, s); },
    } });
    socket.on('error', () => {});
    // Answered after the client's request: ending at 'secure' makes s_client fail on the ticket that follows.
    socket.once('secure', () => { releaseControl(socket); socket.once('data', () => socket.end('ok')); });
  });
  const dir = tempDir(t);
  const hrr = ['-groups', 'P-521:X25519', '-msg'];
  const clientHellos = (stdout: string): number => (stdout.match(/^>>> .*ClientHello/gm) ?? []).length;
  for (const again of [true, false]) {
    reload = again;
    const sess = join(dir, `${String(again)}.sess`);
    assert.equal((await sClient({ port, tls: '1.3', sessOut: sess })).fresh, 1);
    const r = await sClient({ port, tls: '1.3', sessIn: sess, extra: hrr });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(clientHellos(r.stdout), 2, 'the server answered the P-521 share with a HelloRetryRequest');
    if (again) assert.equal(r.reused, 1, `${CHANGED}: the reloaded session did not resume after the HelloRetryRequest`);
    else assert.equal(r.reused, 0, 'Node now keeps the session for the second ClientHello: reloadSession can go');
  }
});

