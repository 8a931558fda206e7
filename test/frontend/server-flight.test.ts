// The backend-side reader of pass-through mode and the stick-table keys, on flights built
// byte by byte by the independent encoder of the parser tests, cut at every byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerFlightReader, type FlightUpdate } from '../../src/frontend/server-flight.ts';
import { stickKey } from '../../src/balancer/stick-keys.ts';
import { learnedFromServerHello, lookupsFor } from '../../src/frontend/stick-learning.ts';
import { parseClientHello } from '../../src/tls/client-hello.ts';
import { HELLO_RETRY_REQUEST_RANDOM, parseServerHello } from '../../src/tls/server-hello.ts';
import {
  clientHelloRecords, ext, frameRecords, handshakeMessage, serverExt, serverHelloBody, u16, u32,
} from '../tls/helpers/hello-builder.ts';

const KEY_NAME = Buffer.alloc(16, 0xab);
const ticketMessage = (ticket: Buffer): Buffer => handshakeMessage(4, Buffer.concat([u32(7200), u16(ticket.length), ticket]));
const ccs = Buffer.from([20, 3, 3, 0, 1, 1]);
const record = (type: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([type, 3, 3]), u16(body.length), body]);

/** Feeds `bytes` cut at `cut` and returns every update, as one list. */
function feed (bytes: Buffer, cuts: number[], options?: ConstructorParameters<typeof ServerFlightReader>[0]): { updates: FlightUpdate[]; done: boolean } {
  const reader = new ServerFlightReader(options);
  const updates: FlightUpdate[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (reader.done) break;
    updates.push(...reader.push(bytes.subarray(at, cut)));
    at = cut;
  }
  return { updates, done: reader.done };
}

function summary (updates: FlightUpdate[]): string[] {
  return updates.map((u) => u.type === 'hello' ? `hello ${u.hello.sessionId.length}`
    : u.type === 'resumed' ? `resumed ${u.resumed}` : u.type === 'ticket' ? `ticket ${u.keyName.toString('hex')}` : `error ${u.reason}`);
}

const tls12Full = Buffer.concat([
  // ServerHello, Certificate and ServerHelloDone in one record, as OpenSSL sends them...
  record(22, Buffer.concat([
    handshakeMessage(2, serverHelloBody({ sessionId: Buffer.alloc(32, 1), cipherSuite: 0xc02f, extensions: [serverExt.sessionTicket()] })),
    handshakeMessage(11, Buffer.alloc(700, 0x30)),
    handshakeMessage(14, Buffer.alloc(0)),
  ])),
  // ...then, after the client's flight, the ticket in two records, and ChangeCipherSpec.
  frameRecords(ticketMessage(Buffer.concat([KEY_NAME, Buffer.alloc(150, 0xcd)])), 50, 0x0303),
  ccs,
  record(22, Buffer.alloc(40, 0xee)), // encrypted Finished: never read
]);

test('TLS 1.2 full handshake: ServerHello, not resumed, then the ticket key name, at every cut', () => {
  const expected = ['hello 32', 'resumed false', `ticket ${KEY_NAME.toString('hex')}`];
  for (let cut = 1; cut < tls12Full.length; cut++) {
    const { updates, done } = feed(tls12Full, [cut]);
    assert.deepEqual(summary(updates), expected, `cut at ${cut}`);
    assert.ok(done);
  }
  const byteByByte = feed(tls12Full, Array.from({ length: tls12Full.length }, (_, i) => i));
  assert.deepEqual(summary(byteByByte.updates), expected);
});

test('TLS 1.2 abbreviated handshakes read as resumed, with or without a renewed ticket', () => {
  const sh = handshakeMessage(2, serverHelloBody({ sessionId: Buffer.alloc(0), cipherSuite: 0xc02f }));
  const renewed = Buffer.concat([record(22, Buffer.concat([sh, ticketMessage(Buffer.concat([KEY_NAME, Buffer.alloc(60)]))])), ccs]);
  assert.deepEqual(summary(feed(renewed, []).updates), ['hello 0', 'resumed true', `ticket ${KEY_NAME.toString('hex')}`]);
  assert.deepEqual(summary(feed(Buffer.concat([record(22, sh), ccs]), [3]).updates), ['hello 0', 'resumed true']);
});

test('TLS 1.3: a HelloRetryRequest and its ChangeCipherSpec are skipped; pre_shared_key means resumed', () => {
  const hrr = frameRecords(handshakeMessage(2, serverHelloBody({
    random: HELLO_RETRY_REQUEST_RANDOM, sessionId: Buffer.alloc(32, 9), extensions: [serverExt.supportedVersion(0x0304), [51, u16(23)]],
  })), 16384, 0x0303);
  const sh = frameRecords(handshakeMessage(2, serverHelloBody({
    sessionId: Buffer.alloc(32, 9), extensions: [serverExt.supportedVersion(0x0304), serverExt.keyShare(23, Buffer.alloc(65, 4)), serverExt.selectedPsk(0)],
  })), 16384, 0x0303);
  const flight = Buffer.concat([hrr, ccs, sh, record(23, Buffer.alloc(30))]);
  for (let cut = 1; cut < flight.length; cut += 3) {
    assert.deepEqual(summary(feed(flight, [cut]).updates), ['hello 32', 'resumed true'], `cut at ${cut}`);
  }
});

test('garbage is an error; a walk longer than maxBytes gives up quietly', () => {
  const junk = feed(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), []);
  assert.equal(junk.updates[0].type, 'error');
  assert.ok(junk.done);
  const { updates, done } = feed(tls12Full, [200, 400, 600, 800], { maxBytes: 300 });
  assert.deepEqual(summary(updates), ['hello 32', 'resumed false']);
  assert.ok(done);
});

test('stick keys: kinds prefixed, long identities hashed to fit a 64-byte key, lookups most precise first', () => {
  assert.equal(stickKey('id', Buffer.alloc(32, 1)).key.length, 34);
  assert.equal(stickKey('psk', Buffer.alloc(200, 1)).key.length, 34);
  assert.equal(stickKey('key_name', KEY_NAME).key.subarray(0, 2).toString(), 'k:');
  const ticket = Buffer.concat([KEY_NAME, Buffer.alloc(100, 2)]);
  const bytes = clientHelloRecords({
    sessionId: Buffer.alloc(32, 5),
    extensions: [ext.supportedVersions([0x0304, 0x0303]), ext.keyShare([[29, Buffer.alloc(32)]]), ext.pskModes([1]), ext.preSharedKey([ticket])],
  });
  const hello = parseClientHello(bytes);
  assert.equal(hello.status, 'ok');
  if (hello.status !== 'ok') return;
  assert.deepEqual(lookupsFor(hello.value).map((k) => k.kind), ['id', 'psk', 'key_name']);
  const accepted = parseServerHello(frameRecords(handshakeMessage(2, serverHelloBody({
    sessionId: Buffer.alloc(32, 5), extensions: [serverExt.supportedVersion(0x0304), serverExt.keyShare(29, Buffer.alloc(32)), serverExt.selectedPsk(0)],
  })), 16384, 0x0303));
  assert.equal(accepted.status, 'ok');
  if (accepted.status !== 'ok') return;
  const learned = learnedFromServerHello(hello.value, accepted.value);
  assert.deepEqual(learned.map((k) => k.kind), ['psk', 'key_name']);
  assert.deepEqual(learned[1].key, stickKey('key_name', KEY_NAME).key);
});
