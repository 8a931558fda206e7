import assert from 'node:assert/strict';
import { constants, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { offeredStatefulId, parseClientHello, type ClientHello } from '../../src/tls/client-hello.ts';
import { HELLO_RETRY_REQUEST_RANDOM, parseServerHello, type ServerHello } from '../../src/tls/server-hello.ts';
import {
  frameRecords, handshakeMessage, reframe, serverExt, serverHelloBody, serverHelloRecords, u16, vec16
} from './helpers/hello-builder.ts';
import {
  captureClientHello, launch, makeCertificate, nodeClient, nodeSession, opensslSaveSession, replay,
  startOpensslServer, startTap, startTlsServer
} from './helpers/peers.ts';

function ok (buf: Buffer, limits?: { maxBytes: number; maxRecords: number }): ServerHello {
  const result = parseServerHello(buf, limits);
  assert.equal(result.status, 'ok', result.status === 'error' ? result.reason : 'incomplete');
  return (result as { value: ServerHello }).value;
}

function error (buf: Buffer): string {
  const result = parseServerHello(buf);
  assert.equal(result.status, 'error');
  return (result as { reason: string }).reason;
}

function clientHello (buf: Buffer): ClientHello {
  const result = parseClientHello(buf);
  assert.equal(result.status, 'ok', result.status === 'error' ? result.reason : 'incomplete');
  return (result as { value: ClientHello }).value;
}

const TLS13_SERVER_HELLO = serverHelloRecords({
  sessionId: Buffer.alloc(32, 0x5e),
  extensions: [serverExt.keyShare(0x001d, Buffer.alloc(32, 7)), serverExt.supportedVersion(0x0304), serverExt.selectedPsk(1)]
});

describe('ServerHello structure', () => {
  test('reads a TLS 1.3 ServerHello', () => {
    const hello = ok(TLS13_SERVER_HELLO);
    assert.equal(hello.legacyVersion, 0x0303);
    assert.equal(hello.version, 0x0304);
    assert.deepEqual(hello.sessionId, Buffer.alloc(32, 0x5e));
    assert.equal(hello.cipherSuite, 0x1301);
    assert.equal(hello.selectedPsk, 1);
    assert.equal(hello.keyShareGroup, 0x001d);
    assert.equal(hello.isHelloRetryRequest, false);
    assert.deepEqual(hello.extensionTypes, [51, 43, 41]);
  });

  test('a TLS 1.2 ServerHello may share its record with the rest of the flight', () => {
    const message = handshakeMessage(2, serverHelloBody({
      legacyVersion: 0x0303, sessionId: Buffer.alloc(32, 9), cipherSuite: 0xc02f,
      extensions: [serverExt.sessionTicket(), serverExt.alpn('h2')]
    }));
    const flight = frameRecords(Buffer.concat([message, handshakeMessage(11, Buffer.alloc(3000))]), 16384, 0x0303);
    // Complete as soon as the ServerHello is in, before the certificate.
    const result = parseServerHello(flight.subarray(0, 5 + message.length));
    assert.equal(result.status, 'ok');
    assert.equal(result.status === 'ok' && result.bytes, 5 + message.length);
    const hello = ok(flight);
    assert.equal(hello.version, 0x0303);
    assert.equal(hello.hasSessionTicketExt, true);
    assert.equal(hello.alpn, 'h2');
    assert.equal(hello.selectedPsk, undefined);
  });

  test('a HelloRetryRequest names only the group', () => {
    const hello = ok(serverHelloRecords({
      random: HELLO_RETRY_REQUEST_RANDOM, extensions: [serverExt.supportedVersion(0x0304), [51, u16(0x0018)]]
    }));
    assert.equal(hello.isHelloRetryRequest, true);
    assert.equal(hello.keyShareGroup, 0x0018);
  });

  test('prefixes are incomplete; records of 30 bytes are reassembled', () => {
    for (let n = 0; n < TLS13_SERVER_HELLO.length; n++) assert.equal(parseServerHello(TLS13_SERVER_HELLO.subarray(0, n)).status, 'incomplete');
    assert.deepEqual({ ...ok(reframe(TLS13_SERVER_HELLO, 30), { maxBytes: 16384, maxRecords: 5 }), records: 1 }, ok(TLS13_SERVER_HELLO));
  });

  const malformed: Array<[string, Buffer, string]> = [
    ['a duplicate extension', serverHelloRecords({ extensions: [serverExt.selectedPsk(0), serverExt.selectedPsk(0)] }), 'duplicate extension 0x0029'],
    ['a non-empty session_ticket', serverHelloRecords({ extensions: [[35, Buffer.alloc(2)]] }), 'extension 0x0023: session_ticket in a ServerHello must be empty'],
    ['a version list', serverHelloRecords({ extensions: [[43, Buffer.from([3, 4, 3, 3])]] }), 'extension 0x002b: length 4, expected 2'],
    ['two ALPN protocols', serverHelloRecords({ extensions: [[16, vec16(Buffer.from([1, 0x61, 1, 0x62]))]] }), 'extension 0x0010: not exactly one protocol name'],
    ['bytes after a TLS 1.3 ServerHello in its record', frameRecords(Buffer.concat([
      handshakeMessage(2, serverHelloBody({ extensions: [serverExt.supportedVersion(0x0304)] })), handshakeMessage(8, Buffer.alloc(2))
    ])), '6 bytes follow the TLS 1.3 ServerHello in its record'],
    ['a body that stops inside the cipher suite', frameRecords(handshakeMessage(2, serverHelloBody().subarray(0, 36))),
      'cipher suite or compression method runs past the end'],
    ['a ClientHello', frameRecords(handshakeMessage(1, Buffer.alloc(40))), 'expected ServerHello (2), got ClientHello (1)'],
    ['an alert', Buffer.from([21, 3, 3, 0, 2, 2, 40]), 'expected a handshake record, got a TLS alert (level 2, description 40)']
  ];
  for (const [name, input, reason] of malformed) {
    test(`rejects ${name}`, () => assert.equal(error(input), reason));
  }
});

describe('ServerHellos from real servers', () => {
  test('TLS 1.3 from Node and openssl s_server: version 0x0304, the session id echoed', async (t) => {
    const cert = makeCertificate(t);
    const node = await startTlsServer(t, cert);
    const openssl = await startOpensslServer(t, cert, []);
    const bytes = await captureClientHello(t, nodeClient({ servername: 'x.example' }));
    const client = clientHello(bytes);
    for (const port of [node.port, openssl]) {
      const hello = ok(await replay(port, bytes));
      assert.equal(hello.version, 0x0304);
      assert.equal(hello.legacyVersion, 0x0303);
      // RFC 8446 §4.1.3: legacy_session_id_echo, which middlebox compatibility mode fills.
      assert.deepEqual(hello.sessionId, client.sessionId);
      assert.ok(client.cipherSuites.includes(hello.cipherSuite));
      assert.ok(hello.keyShareGroup !== undefined && client.keyShareGroups.includes(hello.keyShareGroup));
      assert.equal(hello.isHelloRetryRequest, false);
      assert.equal(hello.selectedPsk, undefined);
    }
  });

  test('TLS 1.2 from openssl s_server: a 32-byte session id, or a ticket promise', async (t) => {
    const cert = makeCertificate(t);
    const noTicket = await startOpensslServer(t, cert, ['-no_ticket']);
    const withTicket = await startOpensslServer(t, cert, []);
    const bytes = await captureClientHello(t, (port) => launch('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2']));
    const byId = ok(await replay(noTicket, bytes));
    assert.equal(byId.version, 0x0303);
    assert.equal(byId.sessionId.length, 32);
    assert.equal(byId.hasSessionTicketExt, false);
    const byTicket = ok(await replay(withTicket, bytes));
    assert.equal(byTicket.hasSessionTicketExt, true);
  });

  test('a HelloRetryRequest when the client\'s key share is for another group', async (t) => {
    const cert = makeCertificate(t);
    const server = await startTlsServer(t, cert, { ecdhCurve: 'P-384' });
    const bytes = await captureClientHello(t, (port) => launch('openssl', ['s_client', '-connect', `127.0.0.1:${port}`,
      '-tls1_3', '-groups', 'X25519:P-384']));
    assert.deepEqual(clientHello(bytes).keyShareGroups, [0x001d]);
    const hello = ok(await replay(server.port, bytes));
    assert.equal(hello.isHelloRetryRequest, true);
    assert.equal(hello.keyShareGroup, 0x0018);
  });

  test('a resumed TLS 1.3 handshake (stateless ticket) selects PSK 0', async (t) => {
    const cert = makeCertificate(t);
    const server = await startTlsServer(t, cert, { ticketKeys: randomBytes(48) });
    const file = join(cert.dir, 'session.pem');
    await opensslSaveSession(server.port, file, ['-tls1_3']);
    const bytes = await captureClientHello(t, (port) => launch('openssl', ['s_client', '-connect', `127.0.0.1:${port}`,
      '-tls1_3', '-sess_in', file]));
    const hello = ok(await replay(server.port, bytes));
    assert.equal(hello.version, 0x0304);
    assert.equal(hello.selectedPsk, 0);
  });

  test('through a pass-through tap: the ids a stick table would learn', async (t) => {
    const cert = makeCertificate(t);
    const server = await startTlsServer(t, cert, { secureOptions: constants.SSL_OP_NO_TICKET, sessionCache: true });
    const tap = await startTap(t, server.port, (bytes) => {
      const hello = clientHello(bytes);
      const psk = offeredStatefulId(hello);
      if (psk !== undefined) server.aliases.set(hello.sessionId.toString('hex'), psk);
    });

    // TLS 1.2: the ServerHello carries the id given to newSession; a resuming client sends it and the server echoes it.
    const { session: session12 } = await nodeSession(tap.port, { maxVersion: 'TLSv1.2' });
    const first = await tap.flights[0];
    const id12 = server.newSessionIds.at(-1);
    assert.deepEqual(ok(first.server).sessionId, id12);
    assert.equal((await nodeSession(tap.port, { maxVersion: 'TLSv1.2', session: session12 })).reused, true);
    const resumed12 = await tap.flights[1];
    assert.deepEqual(clientHello(resumed12.client).sessionId, id12);
    assert.deepEqual(ok(resumed12.server).sessionId, id12);

    // TLS 1.3 stateful ticket: the client's PSK identity is the id given to newSession; with the
    // alias the tap learned from it, the server resumes and says so in its ServerHello.
    const { session: session13 } = await nodeSession(tap.port, { maxVersion: 'TLSv1.3' });
    const id13 = server.newSessionIds.at(-1);
    assert.equal((await nodeSession(tap.port, { session: session13 })).reused, true);
    const resumed13 = await tap.flights[3];
    assert.deepEqual(offeredStatefulId(clientHello(resumed13.client)), id13);
    const hello = ok(resumed13.server);
    assert.equal(hello.version, 0x0304);
    assert.equal(hello.selectedPsk, 0);
  });
});
