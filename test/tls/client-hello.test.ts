import assert from 'node:assert/strict';
import { join } from 'node:path';
import { constants, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  offeredStatefulId, offeredTicketKeyName, offersTls13, parseClientHello, type ClientHello
} from '../../src/tls/client-hello.ts';
import { readHandshakeMessage } from '../../src/tls/records.ts';
import { peerPath, requirePeers } from '../helpers/missing-peers.ts';
import {
  clientHelloBody, clientHelloRecords, ext, frameRecords, handshakeMessage, reframe, u16, u24, unframe, vec16
} from './helpers/hello-builder.ts';
import {
  captureClientHello, launch, makeCertificate, nodeClient, nodeSession, opensslSaveSession, startTlsServer
} from './helpers/peers.ts';

function ok (buf: Buffer, limits?: { maxBytes: number; maxRecords: number }): ClientHello {
  const result = parseClientHello(buf, limits);
  assert.equal(result.status, 'ok', result.status === 'error' ? result.reason : 'incomplete');
  return (result as { value: ClientHello }).value;
}

function error (buf: Buffer, limits?: { maxBytes: number; maxRecords: number }): string {
  const result = parseClientHello(buf, limits);
  assert.equal(result.status, 'error');
  return (result as { reason: string }).reason;
}

/** What a real hello must survive: every cut asks for more, and any legal re-framing reads the same. */
function assertFramingIndependent (bytes: Buffer): void {
  const whole = ok(bytes);
  for (let n = 0; n < bytes.length; n++) assert.equal(parseClientHello(bytes.subarray(0, n)).status, 'incomplete', `prefix of ${n} bytes`);
  const framed = reframe(bytes, 100);
  const records = Math.ceil(unframe(bytes).length / 100);
  assert.deepEqual({ ...ok(framed, { maxBytes: 16384, maxRecords: records }), records: whole.records }, whole);
  assert.match(error(framed, { maxBytes: 16384, maxRecords: records - 1 }), /spans more than/);
}

const TLS13_HELLO = clientHelloRecords({
  sessionId: Buffer.alloc(32, 0x5e),
  extensions: [
    ext.serverName('Example.COM'),
    ext.alpn(['h2', 'http/1.1']),
    ext.supportedVersions([0x0a0a, 0x0304, 0x0303]),
    ext.supportedGroups([0x001d, 0x0017]),
    ext.keyShare([[0x001d, Buffer.alloc(32, 1)]]),
    ext.sessionTicket(),
    ext.earlyData(),
    ext.pskModes([1]),
    ext.preSharedKey([Buffer.alloc(20, 0xaa), Buffer.alloc(100, 0xcc)])
  ]
});

describe('ClientHello structure', () => {
  test('reads every field of a TLS 1.3 hello', () => {
    const hello = ok(TLS13_HELLO);
    assert.equal(hello.legacyVersion, 0x0303);
    assert.deepEqual(hello.random, Buffer.alloc(32, 0x11));
    assert.deepEqual(hello.sessionId, Buffer.alloc(32, 0x5e));
    assert.deepEqual(hello.cipherSuites, [0x1301, 0x1302, 0xc02f]);
    assert.deepEqual(hello.compressionMethods, [0]);
    assert.equal(hello.serverName, 'example.com');
    assert.deepEqual(hello.alpn, ['h2', 'http/1.1']);
    assert.deepEqual(hello.supportedVersions, [0x0a0a, 0x0304, 0x0303]);
    assert.deepEqual(hello.keyShareGroups, [0x001d]);
    assert.equal(hello.hasSessionTicketExt, true);
    assert.equal(hello.sessionTicket, undefined);
    assert.deepEqual(hello.pskIdentities, [Buffer.alloc(20, 0xaa), Buffer.alloc(100, 0xcc)]);
    assert.deepEqual(hello.pskKeyExchangeModes, [1]);
    assert.equal(hello.earlyData, true);
    assert.deepEqual(hello.extensionTypes, [0, 16, 43, 10, 51, 35, 42, 45, 41]);
    assert.equal(offersTls13(hello), true);
    assert.deepEqual(offeredStatefulId(hello), Buffer.alloc(20, 0xaa));
    assert.deepEqual(offeredTicketKeyName(hello), Buffer.alloc(16, 0xcc));
  });

  test('fields are views into the input, not copies', () => {
    const hello = ok(TLS13_HELLO);
    assert.equal(hello.random.buffer, TLS13_HELLO.buffer);
    assert.equal(hello.pskIdentities[0].buffer, TLS13_HELLO.buffer);
  });

  test('a TLS 1.2 hello may have no extensions at all', () => {
    const hello = ok(clientHelloRecords({ cipherSuites: [0x002f] }));
    assert.deepEqual(hello.extensionTypes, []);
    assert.deepEqual(hello.supportedVersions, []);
    assert.equal(offersTls13(hello), false);
  });

  test('a TLS 1.2 ticket gives the key name; a short one gives none', () => {
    const ticket = Buffer.concat([Buffer.alloc(16, 0x4b), randomBytes(100)]);
    assert.deepEqual(offeredTicketKeyName(ok(clientHelloRecords({ extensions: [ext.sessionTicket(ticket)] }))), Buffer.alloc(16, 0x4b));
    assert.equal(offeredTicketKeyName(ok(clientHelloRecords({ extensions: [ext.sessionTicket(Buffer.alloc(15))] }))), undefined);
  });

  const malformed: Array<[string, Buffer, string]> = [
    ['duplicate extension', clientHelloRecords({ extensions: [ext.alpn(['a']), ext.alpn(['b'])] }), 'duplicate extension 0x0010'],
    ['pre_shared_key not last', clientHelloRecords({ extensions: [ext.pskModes([1]), ext.preSharedKey([Buffer.alloc(8)]), ext.earlyData()] }),
      'pre_shared_key is not the last extension'],
    ['PSK without modes', clientHelloRecords({ extensions: [ext.preSharedKey([Buffer.alloc(8)])] }), 'pre_shared_key without psk_key_exchange_modes'],
    ['fewer binders than identities', clientHelloRecords({ extensions: [ext.pskModes([1]), [41, Buffer.concat([
      vec16(Buffer.concat([vec16(Buffer.alloc(8)), Buffer.alloc(4), vec16(Buffer.alloc(8)), Buffer.alloc(4)])),
      vec16(Buffer.concat([Buffer.from([32]), Buffer.alloc(32)]))])]] }), 'extension 0x0029: 2 identities but 1 binders'],
    ['session id over 32 bytes', clientHelloRecords({ sessionId: Buffer.alloc(33) }), 'session id length 33 exceeds 32'],
    ['odd cipher suites', frameRecords(handshakeMessage(1, Buffer.concat([u16(0x0303), Buffer.alloc(32), Buffer.from([0, 0, 3, 0, 0x2f, 0, 1, 0])]))),
      'cipher suites length 3 is not a non-zero even number'],
    ['host_name with a control byte', clientHelloRecords({ extensions: [ext.serverName('a\nb')] }), 'extension 0x0000: host_name contains byte 0x0a'],
    ['host_name with a trailing dot', clientHelloRecords({ extensions: [ext.serverName('example.com.')] }), 'extension 0x0000: host_name ends with a dot'],
    ['non-empty early_data', clientHelloRecords({ extensions: [[42, Buffer.alloc(4)]] }), 'extension 0x002a: early_data in a ClientHello must be empty'],
    ['bytes after the extensions', frameRecords(handshakeMessage(1, Buffer.concat([clientHelloBody({ extensions: [] }), Buffer.alloc(3)]))),
      '3 trailing bytes after the extensions']
  ];
  for (const [name, input, reason] of malformed) {
    test(`rejects ${name}`, () => assert.equal(error(input), reason));
  }

  test('names an extension whose length runs past the end', () => {
    const body = clientHelloBody({ extensions: [ext.alpn(['h2']), [0x29, Buffer.alloc(40)]] });
    // Stretch the pre_shared_key's declared length by one; the block length stays true.
    body[body.length - 41] += 1;
    assert.equal(error(frameRecords(handshakeMessage(1, body))), 'extension 0x0029 length runs past the end');
  });

  test('rejects bytes after the ClientHello inside its record', () => {
    const message = Buffer.concat([handshakeMessage(1, clientHelloBody()), Buffer.from([20, 0, 0, 0])]);
    assert.equal(error(frameRecords(message)), '4 bytes follow the ClientHello in its record');
  });
});

describe('ClientHello record layer', () => {
  test('every strict prefix is incomplete, the whole is ok, and bytes counts the records', () => {
    for (let n = 0; n < TLS13_HELLO.length; n++) {
      assert.equal(parseClientHello(TLS13_HELLO.subarray(0, n)).status, 'incomplete', `prefix of ${n} bytes`);
    }
    const whole = parseClientHello(Buffer.concat([TLS13_HELLO, Buffer.from([23, 3, 3, 0, 1, 0])]));
    assert.equal(whole.status === 'ok' && whole.bytes, TLS13_HELLO.length);
  });

  test('reassembles a hello re-framed into 100-byte records when the limits allow', () => {
    const framed = reframe(TLS13_HELLO, 100);
    const records = Math.ceil((TLS13_HELLO.length - 5) / 100);
    const hello = ok(framed, { maxBytes: 16384, maxRecords: records });
    assert.deepEqual({ ...hello, records: 1 }, ok(TLS13_HELLO));
    assert.equal(hello.records, records);
    assert.equal(error(framed, { maxBytes: 16384, maxRecords: records - 1 }), `ClientHello spans more than ${records - 1} records`);
    for (let n = 0; n < framed.length; n++) {
      assert.equal(parseClientHello(framed.subarray(0, n), { maxBytes: 16384, maxRecords: records }).status, 'incomplete', `prefix of ${n} bytes`);
    }
  });

  test('a handshake header split across records is reassembled', () => {
    for (const size of [1, 2, 3, 5]) {
      const framed = reframe(TLS13_HELLO, size);
      assert.equal(ok(framed, { maxBytes: 16384, maxRecords: 10_000 }).serverName, 'example.com');
    }
    // The limit is known to be hit from the record headers alone, before the rest arrives.
    assert.equal(error(reframe(TLS13_HELLO, 2).subarray(0, 14), { maxBytes: 16384, maxRecords: 2 }), 'ClientHello spans more than 2 records');
  });

  test('a message spread over records is copied into one buffer of exactly its length', () => {
    const framed = reframe(TLS13_HELLO, 100);
    const message = readHandshakeMessage(framed, 1, { maxBytes: 16384, maxRecords: 100 });
    assert.equal(message.status, 'ok');
    if (message.status !== 'ok') return;
    assert.equal(message.value.body.length, TLS13_HELLO.length - 9);
    assert.notEqual(message.value.body.buffer, framed.buffer);
  });

  test('oversize messages and records are errors, not requests for more', () => {
    const big = clientHelloRecords({ extensions: [[0xff01, Buffer.alloc(20_000)]] }, 16384);
    assert.equal(error(big), `ClientHello length ${big.length - 9 - 5} exceeds 16384`);
    assert.equal(error(Buffer.from([22, 3, 1, 0x4e, 0x20, 1, 0, 0, 10])), 'record length 20000 exceeds 16384');
    assert.equal(error(TLS13_HELLO, { maxBytes: 100, maxRecords: 4 }), `ClientHello length ${TLS13_HELLO.length - 9} exceeds 100`);
    // The header alone is enough to refuse.
    assert.equal(error(Buffer.concat([Buffer.from([22, 3, 1, 0x40, 0]), Buffer.from([1]), u24(70_000)])), 'ClientHello length 70000 exceeds 16384');
  });

  test('a record that is not handshake in the middle of the hello is an error', () => {
    const framed = reframe(TLS13_HELLO, 100);
    const broken = Buffer.from(framed);
    broken[105] = 21;
    assert.equal(error(broken), 'ClientHello interrupted by a record of type alert (21)');
  });

  test('an empty handshake record is an error', () => {
    assert.equal(error(Buffer.concat([Buffer.from([22, 3, 1, 0, 0]), TLS13_HELLO])), 'empty handshake record');
  });
});

describe('not a ClientHello', () => {
  const SSLV2_HELLO = Buffer.from('802e0100020015000000100100800700c0030080060040020080040080000039000038000035' +
    '00003300003200002f0000050000040000', 'hex');
  const cases: Array<[string, Buffer, string]> = [
    ['an SSLv2 hello', SSLV2_HELLO, 'SSLv2 ClientHello is not supported'],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'not TLS: looks like an HTTP request'],
    ['an HTTP/2 preface', Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 'not TLS: looks like an HTTP request'],
    ['a CONNECT', Buffer.from('CONNECT example.com:443 HTTP/1.1\r\n'), 'not TLS: looks like an HTTP request'],
    ['a PROXY v1 header', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), 'not TLS: looks like a PROXY protocol v1 header'],
    ['a PROXY v2 header', Buffer.from('0d0a0d0a000d0a515549540a2111', 'hex'), 'not TLS: looks like a PROXY protocol v2 header'],
    ['SSH', Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), 'not TLS: looks like SSH'],
    ['a TLS alert', Buffer.from([21, 3, 3, 0, 2, 2, 40]), 'expected a handshake record, got a TLS alert (level 2, description 40)'],
    ['application data', Buffer.from([23, 3, 3, 0, 2, 0, 0]), 'expected a handshake record, got application_data (23)'],
    ['a ServerHello', frameRecords(handshakeMessage(2, Buffer.alloc(40))), 'expected ClientHello (1), got ServerHello (2)'],
    ['a ServerHello by its first byte alone', Buffer.from([22, 3, 3, 0, 60, 2]), 'expected ClientHello (1), got ServerHello (2)'],
    ['a bad record version', Buffer.from([22, 2, 0, 0, 4]), 'record version 0x02.. (major must be 3)'],
    ['a zero byte', Buffer.alloc(10), 'not TLS: first byte 0x00']
  ];
  for (const [name, input, reason] of cases) {
    test(`names ${name}`, () => assert.equal(error(input), reason));
  }

  test('a one-byte start that can never be TLS is an error at once', () => {
    assert.equal(error(Buffer.from('G')), 'not TLS: looks like an HTTP request');
    assert.equal(parseClientHello(Buffer.from([22])).status, 'incomplete');
  });
});

describe('ClientHellos from real clients', () => {
  test('openssl s_client, TLS 1.3 and TLS 1.2, SNI and ALPN', async (t) => {
    for (const [flag, versions] of [['-tls1_3', [0x0304]], ['-tls1_2', []]] as const) {
      const bytes = await captureClientHello(t, (port) => launch('openssl', ['s_client', '-connect', `127.0.0.1:${port}`,
        '-servername', 'OpenSSL.Example', '-alpn', 'h2,http/1.1', flag]));
      const hello = ok(bytes);
      assert.equal(hello.serverName, 'openssl.example');
      assert.deepEqual(hello.alpn, ['h2', 'http/1.1']);
      assert.deepEqual(hello.supportedVersions, versions);
      assert.equal(offersTls13(hello), flag === '-tls1_3');
      assert.deepEqual(hello.pskIdentities, []);
      assertFramingIndependent(bytes);
    }
  });

  test('Python ssl', async (t) => {
    const bytes = await captureClientHello(t, (port) => launch('python3', ['-c', [
      'import socket, ssl',
      'ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE',
      "ctx.set_alpn_protocols(['http/1.1', 'spdy/3'])",
      `ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${port})), server_hostname='py.example')`
    ].join('\n')]));
    const hello = ok(bytes);
    assert.equal(hello.serverName, 'py.example');
    assert.deepEqual(hello.alpn, ['http/1.1', 'spdy/3']);
    assert.equal(offersTls13(hello), true);
  });

  test('curl', async (t) => {
    const bytes = await captureClientHello(t, (port) => launch('curl', ['-sk', '--max-time', '10',
      '--resolve', `curl.example:${port}:127.0.0.1`, `https://curl.example:${port}/`]));
    const hello = ok(bytes);
    assert.equal(hello.serverName, 'curl.example');
    assert.ok(hello.alpn.includes('http/1.1'), `alpn ${hello.alpn.join(',')}`);
    assert.equal(offersTls13(hello), true);
  });

  test('Node tls.connect', async (t) => {
    const bytes = await captureClientHello(t, nodeClient({ servername: 'node.example', ALPNProtocols: ['x-warmshake'] }));
    const hello = ok(bytes);
    assert.equal(hello.serverName, 'node.example');
    assert.deepEqual(hello.alpn, ['x-warmshake']);
    assert.equal(offersTls13(hello), true);
    assert.equal(hello.hasSessionTicketExt, true);
  });

  test('Chromium', async (t) => {
    if (!requirePeers(t, 'chromium')) return;
    const chromium = peerPath('chromium')!;
    const cert = makeCertificate(t);
    const bytes = await captureClientHello(t, (port) => launch(chromium, ['--headless', '--no-sandbox', '--disable-gpu',
      '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${join(cert.dir, 'chromium')}`, `https://127.0.0.1:${port}/`], { detached: true }));
    const hello = ok(bytes);
    // RFC 6066 §3: no SNI for an IP literal.
    assert.equal(hello.serverName, undefined);
    assert.deepEqual(hello.alpn, ['h2', 'http/1.1']);
    assert.equal(offersTls13(hello), true);
    // GREASE (RFC 8701): values of the form 0x?a?a in suites and extensions, which the parser must let through.
    const isGrease = (v: number): boolean => (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff);
    assert.ok(hello.cipherSuites.some(isGrease));
    assert.ok(hello.extensionTypes.some(isGrease));
    assertFramingIndependent(bytes);
  });
});

describe('resumption offers from real clients', () => {
  test('stateless tickets: the key name is the server\'s, TLS 1.3 (PSK) and TLS 1.2 (session_ticket)', async (t) => {
    const cert = makeCertificate(t);
    const ticketKeys = randomBytes(48);
    const server = await startTlsServer(t, cert, { ticketKeys });
    for (const flag of ['-tls1_3', '-tls1_2']) {
      const file = join(cert.dir, `session${flag}.pem`);
      await opensslSaveSession(server.port, file, [flag, '-servername', 'resume.example']);
      const bytes = await captureClientHello(t, (port) => launch('openssl', ['s_client', '-connect', `127.0.0.1:${port}`,
        '-servername', 'resume.example', '-sess_in', file, flag]));
      const hello = ok(bytes);
      if (flag === '-tls1_3') {
        assert.equal(hello.pskIdentities.length, 1);
        assert.ok(hello.pskIdentities[0].length > 32);
        assert.equal(offeredStatefulId(hello), undefined);
      } else {
        assert.ok(hello.sessionTicket !== undefined);
      }
      assert.deepEqual(offeredTicketKeyName(hello), ticketKeys.subarray(0, 16), flag);
    }
  });

  test('stateful TLS 1.3 tickets: the PSK identity is the id the server gave newSession', async (t) => {
    const cert = makeCertificate(t);
    const server = await startTlsServer(t, cert, { secureOptions: constants.SSL_OP_NO_TICKET, sessionCache: true });
    // openssl s_client
    const file = join(cert.dir, 'stateful.pem');
    await opensslSaveSession(server.port, file, ['-tls1_3']);
    const fromOpenssl = ok(await captureClientHello(t, (port) => launch('openssl', ['s_client', '-connect', `127.0.0.1:${port}`,
      '-sess_in', file, '-tls1_3'])));
    const id = offeredStatefulId(fromOpenssl);
    assert.ok(id !== undefined);
    assert.deepEqual(id, server.newSessionIds.at(-1));
    assert.equal(offeredTicketKeyName(fromOpenssl), undefined);
    // Node's client
    const { session } = await nodeSession(server.port, { maxVersion: 'TLSv1.3' });
    const fromNode = ok(await captureClientHello(t, nodeClient({ session })));
    assert.deepEqual(offeredStatefulId(fromNode), server.newSessionIds.at(-1));
  });
});
