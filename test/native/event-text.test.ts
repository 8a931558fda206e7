// The engine's drain text (c/addon_events.c) as event-text.ts reads it: field order,
// the numbers of c/events.h, and the escape for separator bytes inside a field (an SNI
// may hold control bytes). The addon side of the format runs in every e2e test on the
// native engine (logs, counters and `show info` come from it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEvents } from '../../src/native/event-text.ts';

const US = '\x1f';
const RS = '\x1e';
const record = (fields: Array<string | number>): string => fields.join(US) + RS;

test('a handshake record becomes the NativeEvent the worker publishes', () => {
  const text = record([1, 0, '127.0.0.1:5000', 0, 0, 1, 0, '', 'localhost', 'TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'h2', 2, 0, '', 1234]);
  const [e] = parseEvents(text);
  assert.equal(e.kind, 'handshake');
  assert.equal(e.frontend, 0);
  assert.equal(e.client, '127.0.0.1:5000');
  assert.equal(e.resumed, true);
  assert.equal(e.sni, 'localhost');
  assert.equal(e.version, 'TLSv1.2');
  assert.equal(e.alpn, 'h2');
  assert.equal(e.method, 'ticket');
  assert.equal(e.miss, '');
  assert.equal(e.duration, 1.234);
});

test('error, stored and server records, several in one drain', () => {
  const text = record([2, 1, 'c', 0, 0, 0, 2, 'handshake not done within 5000 ms', '', '', '', '', 0, 0, '', 0]) +
    record([3, 0, 'c', 0, 0, 1, 0, '', '', '', '', '', 0, 0, '', 0]) +
    record([4, 0, 'c', 1, 3, 0, 0, 'ECONNRESET', '', '', '', '', 0, 0, '', 0]) +
    record([1, 0, 'c', 0, 0, 0, 0, '', 'x', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', '', 0, 4, 'ab01', 2000]);
  const [err, stored, server, miss] = parseEvents(text);
  assert.equal(err.kind, 'error');
  assert.equal(err.stage, 'timeout');
  assert.equal(err.reason, 'handshake not done within 5000 ms');
  assert.equal(stored.kind, 'stored');
  assert.equal(stored.stored, true);
  assert.equal(server.kind, 'server');
  assert.equal(server.backend, 1);
  assert.equal(server.server, 3);
  assert.equal(server.answered, false);
  assert.equal(miss.miss, 'unknown_ticket_key');
  assert.equal(miss.offered, 'ab01');
  assert.equal(miss.method, 'none');
});

test('separator bytes inside a field come back as sent', () => {
  const sni = 'a\x1cb\x1dc\x1ed\x1fe';
  const escaped = sni.replace(/[\x1c-\x1f]/g, (ch) => '\x1c' + String.fromCharCode(ch.charCodeAt(0) + 0x40));
  const [e] = parseEvents(record([1, 0, 'c', 0, 0, 0, 0, '', escaped, 'TLSv1.2', '', '', 0, 1, '', 0]));
  assert.equal(e.sni, sni);
  assert.equal(e.miss, 'unknown');
});

test('an empty drain and a cut record', () => {
  assert.deepEqual(parseEvents(''), []);
  assert.equal(parseEvents(`1${US}0${US}c${RS}`).length, 0);
});
