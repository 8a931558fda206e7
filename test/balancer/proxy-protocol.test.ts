import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeProxyV2, encodeProxyV2, encodeProxyV2Local, formatIPv6, PROXY_V2_SIGNATURE,
} from '../../src/balancer/proxy-protocol.ts';
import { skipWithout } from '../helpers/missing-peers.ts';
import { waitUntil } from '../helpers/wait.ts';
import type { DecodedProxyV2 } from '../../src/balancer/proxy-protocol.ts';

const SIG = '0d0a0d0a000d0a515549540a';

test('proxy v2: TCP4 header byte for byte as doc/proxy-protocol.txt §2.2 lays it out', () => {
  const header = encodeProxyV2({ source: { address: '192.0.2.7', port: 4444 }, destination: { address: '198.51.100.1', port: 443 } });
  // sig | ver 2, cmd PROXY | AF_INET, STREAM | len 12 | src addr | dst addr | src port | dst port
  assert.equal(header.toString('hex'), `${SIG}2111` + '000c' + 'c0000207' + 'c6336401' + '115c' + '01bb');
});

test('proxy v2: TCP6 layout, IPv4-mapped addresses go as TCP4, mixed families as TCP6', () => {
  const v6 = encodeProxyV2({ source: { address: '2001:db8::7', port: 1 }, destination: { address: '::1', port: 2 } });
  assert.equal(v6.toString('hex'),
    `${SIG}2121` + '0024' + '20010db8000000000000000000000007' + '00000000000000000000000000000001' + '0001' + '0002');
  const mapped = encodeProxyV2({ source: { address: '::ffff:127.0.0.1', port: 5 }, destination: { address: '::FFFF:10.0.0.1', port: 6 } });
  assert.equal(mapped.toString('hex'), `${SIG}2111000c` + '7f000001' + '0a000001' + '0005' + '0006');
  const mixed = decodeProxyV2(encodeProxyV2({ source: { address: '10.1.2.3', port: 5 }, destination: { address: 'fe80::1', port: 6 } }))!;
  assert.equal(mixed.family, 'TCP6');
  assert.deepEqual(mixed.source, { address: '::ffff:a01:203', port: 5 });
  assert.deepEqual(mixed.destination, { address: 'fe80::1', port: 6 });
  assert.throws(() => encodeProxyV2({ source: { address: 'example.com', port: 1 }, destination: { address: '::1', port: 2 } }), TypeError);
  assert.throws(() => encodeProxyV2({ source: { address: '::1', port: 70000 }, destination: { address: '::1', port: 2 } }), RangeError);
});

test('proxy v2: TLVs for ALPN, authority and SSL with a version sub-TLV', () => {
  const header = encodeProxyV2({
    source: { address: '192.0.2.7', port: 4444 },
    destination: { address: '198.51.100.1', port: 443 },
    alpn: 'h2',
    authority: 'example.com',
    ssl: { version: 'TLSv1.3' },
  });
  const tlvs = '01' + '0002' + Buffer.from('h2').toString('hex') +
    '02' + '000b' + Buffer.from('example.com').toString('hex') +
    // PP2_TYPE_SSL: client = PP2_CLIENT_SSL, verify = 0, then PP2_SUBTYPE_SSL_VERSION
    '20' + '000f' + '01' + '00000000' + '21' + '0007' + Buffer.from('TLSv1.3').toString('hex');
  assert.equal(header.toString('hex'), `${SIG}2111` + (12 + tlvs.length / 2).toString(16).padStart(4, '0') +
    'c0000207c6336401115c01bb' + tlvs);
  const decoded = decodeProxyV2(Buffer.concat([header, Buffer.from('GET /')]))!;
  assert.equal(decoded.length, header.length);
  assert.equal(decoded.alpn, 'h2');
  assert.equal(decoded.authority, 'example.com');
  assert.deepEqual(decoded.ssl, { version: 'TLSv1.3' });
  assert.deepEqual(decodeProxyV2(encodeProxyV2({ source: decoded.source!, destination: decoded.destination!, ssl: { version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' } }))!.ssl,
    { version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
});

test('proxy v2: LOCAL for health checks, partial input and garbage', () => {
  const local = encodeProxyV2Local();
  assert.equal(local.toString('hex'), `${SIG}20000000`);
  assert.deepEqual(decodeProxyV2(local), { command: 'LOCAL', family: 'UNSPEC', tlvs: [], length: 16 });
  const full = encodeProxyV2({ source: { address: '::1', port: 1 }, destination: { address: '::1', port: 2 }, authority: 'a.example' });
  for (let n = 0; n < full.length; n++) assert.equal(decodeProxyV2(full.subarray(0, n)), undefined, `prefix of ${n} bytes`);
  assert.throws(() => decodeProxyV2(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')), /signature/);
  const badVersion = Buffer.from(local);
  badVersion[12] = 0x11;
  assert.throws(() => decodeProxyV2(badVersion), /version/);
  assert.ok(PROXY_V2_SIGNATURE.equals(Buffer.from(SIG, 'hex')));
});

test('proxy v2: IPv6 text is RFC 5952', () => {
  const bytes = (hex: string): Buffer => Buffer.from(hex, 'hex');
  assert.equal(formatIPv6(bytes('20010db8000000000000000000000001')), '2001:db8::1');
  assert.equal(formatIPv6(bytes('00000000000000000000000000000000')), '::');
  assert.equal(formatIPv6(bytes('20010db8000000010000000000000001')), '2001:db8:0:1::1');
  assert.equal(formatIPv6(bytes('20010db8000100010001000100010001')), '2001:db8:1:1:1:1:1:1');
  assert.equal(formatIPv6(bytes('20010000000000010000000000000000')), '2001:0:0:1::');
});

// A real implementation reads our header: HAProxy with `accept-proxy` on a unix socket
// forwards to a Node listener with `send-proxy-v2`, re-sending the addresses (and the
// authority) it parsed from ours. HAProxy 2.6 keeps no received ALPN or SSL TLV, so those
// are checked byte for byte above instead.
test('proxy v2: HAProxy accept-proxy parses our headers', { skip: skipWithout('haproxy') }, async (t) => {
  const received: Array<{ header: DecodedProxyV2; payload: string }> = [];
  const backend = createServer((socket) => {
    let bytes = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      const header = decodeProxyV2(bytes);
      if (header && bytes.length > header.length) {
        received.push({ header, payload: bytes.subarray(header.length).toString() });
        socket.end();
      }
    });
  });
  backend.listen(0, '127.0.0.1');
  t.after(() => backend.close());
  await once(backend, 'listening');

  const dir = mkdtempSync(join(tmpdir(), 'warmshake-pp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'front.sock');
  writeFileSync(join(dir, 'haproxy.cfg'), [
    'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 10s', '  timeout server 10s',
    'frontend fe', `  bind unix@${sock} accept-proxy`, '  default_backend be',
    'backend be', `  server s1 127.0.0.1:${(backend.address() as AddressInfo).port} send-proxy-v2 proxy-v2-options authority`,
    '',
  ].join('\n'));
  const child = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  t.after(() => child.kill());

  // HAProxy says nothing when it listens: its unix socket accepting is the event.
  const open = (): Promise<Socket> => waitUntil(async () => {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${stderr}`);
    const socket = connect(sock);
    return await new Promise<Socket | undefined>((resolve) => {
      socket.once('connect', () => resolve(socket));
      socket.once('error', () => resolve(undefined));
    });
  }, `haproxy listening on ${sock} (${stderr})`);
  const send = async (header: Buffer): Promise<{ header: DecodedProxyV2; payload: string }> => {
    const before = received.length;
    const socket = await open();
    socket.resume();
    socket.end(Buffer.concat([header, Buffer.from('payload')]));
    await once(socket, 'close');
    assert.equal(received.length, before + 1, `haproxy forwarded nothing: ${stderr}`);
    return received[before];
  };

  const v4 = await send(encodeProxyV2({
    source: { address: '192.0.2.7', port: 4444 }, destination: { address: '198.51.100.1', port: 443 },
    authority: 'example.com', alpn: 'h2', ssl: { version: 'TLSv1.3' },
  }));
  assert.equal(v4.payload, 'payload');
  assert.equal(v4.header.command, 'PROXY');
  assert.equal(v4.header.family, 'TCP4');
  assert.deepEqual(v4.header.source, { address: '192.0.2.7', port: 4444 });
  assert.deepEqual(v4.header.destination, { address: '198.51.100.1', port: 443 });
  assert.equal(v4.header.authority, 'example.com');

  const v6 = await send(encodeProxyV2({ source: { address: '2001:db8::7', port: 55000 }, destination: { address: '2001:db8::1', port: 8443 } }));
  assert.equal(v6.header.family, 'TCP6');
  assert.deepEqual(v6.header.source, { address: '2001:db8::7', port: 55000 });
  assert.deepEqual(v6.header.destination, { address: '2001:db8::1', port: 8443 });

  const mapped = await send(encodeProxyV2({ source: { address: '::ffff:192.0.2.9', port: 1234 }, destination: { address: '::ffff:127.0.0.1', port: 443 } }));
  assert.equal(mapped.header.family, 'TCP4');
  assert.deepEqual(mapped.header.source, { address: '192.0.2.9', port: 1234 });

  // LOCAL: HAProxy keeps the real (unix socket) endpoints, so it re-sends LOCAL as well.
  const local = await send(encodeProxyV2Local());
  assert.equal(local.header.command, 'LOCAL');
  assert.equal(local.payload, 'payload');
});
