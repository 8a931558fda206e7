// Terminate mode end to end: a real warmshake process, real clients (openssl s_client,
// Python's ssl), a real backend. What issue 2 asks to show.
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { echoBackend, httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { pythonResume, sClient } from '../helpers/peers.ts';
import { freePort } from '../../bench/ports.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';
import { decodeProxyV2 } from '../../src/balancer/proxy-protocol.ts';
import { ENGINES } from '../helpers/engines.ts';

for (const engine of ENGINES) {

  test(`[${engine}] TLS 1.2 session ids: openssl s_client -reconnect resumes all 5 reconnections`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const ws = await startWarmshake(t, dir, terminateConfig({ engine, port: await freePort(), backendPort: backend.port, ...cert }));
    const r = await sClient({ port: ws.ports.https, tls: '1.2', reconnect: true, noTicket: true });
    assert.equal(r.fresh, 1, r.stdout);
    assert.equal(r.reused, 5, r.stdout);
    await ws.waitForLog((l) => l.method === 'id' && l.resumed === true);
    await ws.waitForLog((l) => l.msg.startsWith('engine: ') && l.engine === engine);
  });

  for (const tickets of [true, false]) {
    test(`[${engine}] TLS 1.3 ${tickets ? 'stateless tickets' : 'stateful tickets (tickets off)'}: -sess_out then -sess_in says Reused`, async (t) => {
      const dir = tempDir(t);
      const cert = writeCert(dir);
      const backend = await httpBackend(t);
      const ws = await startWarmshake(t, dir, terminateConfig({ engine, port: await freePort(), backendPort: backend.port, ...cert, tickets }));
      const sess = join(dir, 'tls13.sess');
      const first = await sClient({ port: ws.ports.https, tls: '1.3', sessOut: sess, servername: 'localhost' });
      assert.equal(first.fresh, 1, first.stdout);
      assert.match(first.stdout, /hello from backend/);
      for (let i = 0; i < 3; i++) {
        const again = await sClient({ port: ws.ports.https, tls: '1.3', sessIn: sess, sessOut: sess, servername: 'localhost' });
        assert.equal(again.reused, 1, again.stdout);
      }
      await ws.waitForLog((l) => l.resumed === true && l.method === (tickets ? 'ticket' : 'stateful_ticket') && l.version === 'TLSv1.3');
    });
  }

  test(`[${engine}] Python's ssl module resumes on TLS 1.2 and TLS 1.3`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const ws = await startWarmshake(t, dir, terminateConfig({ engine, port: await freePort(), backendPort: backend.port, ...cert }));
    assert.deepEqual(await pythonResume(ws.ports.https, '1.2', 4), [false, true, true, true]);
    assert.deepEqual(await pythonResume(ws.ports.https, '1.3', 4), [false, true, true, true]);
  });

  test(`[${engine}] data round-trips through the proxy both ways, a large body included`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await echoBackend(t);
    const ws = await startWarmshake(t, dir, terminateConfig({ engine, port: await freePort(), backendPort: backend.port, ...cert }));
    const body = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 13)) & 0xff;
    const received = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = tlsConnect({ host: '127.0.0.1', port: ws.ports.https, rejectUnauthorized: false, servername: 'localhost' }, () => s.end(body));
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
    });
    assert.equal(received.length, body.length);
    assert.ok(received.equals(body), 'echoed bytes differ');
  });

  test(`[${engine}] a full cache drops its oldest sessions first; a session past its lifetime misses as expired`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const ws = await startWarmshake(t, dir, terminateConfig({ engine, port: await freePort(), backendPort: backend.port, ...cert, size: 3, lifetime: '2s' }));
    const port = ws.ports.https;
    for (let i = 0; i < 5; i++) {
      const r = await sClient({ port, tls: '1.2', noTicket: true, sessOut: join(dir, `s${i}`) });
      assert.equal(r.fresh, 1);
    }
    const oldest = await sClient({ port, tls: '1.2', noTicket: true, sessIn: join(dir, 's0') });
    assert.equal(oldest.reused, 0, 'the oldest session should have been evicted');
    const newest = await sClient({ port, tls: '1.2', noTicket: true, sessIn: join(dir, 's4') });
    assert.equal(newest.reused, 1, 'the newest session should resume');
    await ws.waitForLog((l) => l.miss === 'unknown');
    await ws.waitForLog((l) => /^session cache full: \d+ live sessions evicted/.test(l.msg));
    await new Promise((r) => setTimeout(r, 2500));
    const late = await sClient({ port, tls: '1.2', noTicket: true, sessIn: join(dir, 's4') });
    assert.equal(late.reused, 0, 'a session past its lifetime must not resume');
    await ws.waitForLog((l) => l.miss === 'expired');
  });

  test(`[${engine}] a session resumes only under the SNI it was made for`, async (t) => {
    const dir = tempDir(t);
    const shared = writeCert(dir, ['a.example', 'b.example'], 'ab');
    const other = writeCert(dir, ['c.example'], 'c');
    const backend = await httpBackend(t);
    const ws = await startWarmshake(t, dir, terminateConfig({ engine, port: await freePort(), backendPort: backend.port, cert: shared.cert, key: shared.key, extraCerts: [{ cert: other.cert, key: other.key }] }));
    const port = ws.ports.https;
    // Session ids (TLS 1.2): the cache compares the exact SNI.
    const id = join(dir, 'id.sess');
    await sClient({ port, tls: '1.2', noTicket: true, servername: 'a.example', sessOut: id });
    assert.equal((await sClient({ port, tls: '1.2', noTicket: true, servername: 'b.example', sessIn: id })).reused, 0);
    assert.equal((await sClient({ port, tls: '1.2', noTicket: true, servername: 'a.example', sessIn: id })).reused, 1);
    await ws.waitForLog((l) => l.miss === 'wrong_sni' && l.sni === 'b.example');
    // Tickets (TLS 1.3): bound to the certificate the SNI selected.
    const ticket = join(dir, 'ticket.sess');
    await sClient({ port, tls: '1.3', servername: 'a.example', sessOut: ticket });
    assert.equal((await sClient({ port, tls: '1.3', servername: 'c.example', sessIn: ticket })).reused, 0);
    assert.equal((await sClient({ port, tls: '1.3', servername: 'a.example', sessIn: ticket })).reused, 1);
  });

  test(`[${engine}] garbage, a truncated ClientHello, an SSLv2 hello and plain HTTP are closed and logged; serving goes on`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    const backend = await httpBackend(t);
    const ws = await startWarmshake(t, dir, terminateConfig({ engine, port: await freePort(), backendPort: backend.port, ...cert, frontend: { timeout: { handshake: '1s' } } }));
    const port = ws.ports.https;
    const sslv2 = Buffer.from('802e0103010015000000100100800300800700c006004000400200800000040000ff52a8a26cdf7d4d72dc2d1ef9b6eb3e', 'hex');
    const truncated = Buffer.from('16030100c4010000c00303', 'hex');
    const inputs: Array<[string, Buffer]> = [
      ['garbage', Buffer.from('\x00\xff\x13\x37 definitely not tls \x00\x00\x00\x00\x00\x00', 'latin1')],
      ['http', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      ['sslv2', sslv2],
      ['truncated', truncated],
    ];
    for (const [, bytes] of inputs) {
      await new Promise<void>((resolve) => {
        const s = connect(port, '127.0.0.1', () => s.write(bytes));
        s.on('error', () => {});
        s.on('data', () => {});
        s.on('close', () => resolve());
      });
    }
    const closed = () => ws.logs.filter((l) => l.stage === 'client_hello' || l.stage === 'timeout');
    await ws.waitForLog(() => closed().length >= 4);
    assert.ok(closed().some((l) => /HTTP/i.test(String(l.reason))), JSON.stringify(closed()));
    assert.ok(closed().some((l) => /SSLv2/i.test(String(l.reason))), JSON.stringify(closed()));
    const after = await sClient({ port, tls: '1.3' });
    assert.match(after.stdout, /hello from backend/);
  });

  test(`[${engine}] send_proxy: v2 — the backend learns the client address, SNI, ALPN and TLS version`, async (t) => {
    const dir = tempDir(t);
    const cert = writeCert(dir);
    // A backend that reads the PROXY header, then answers with what it learned.
    const backend = createServer((socket) => {
      let buffered = Buffer.alloc(0);
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        const header = decodeProxyV2(buffered);
        if (!header) return;
        socket.removeAllListeners('data');
        socket.end(`${header.source?.address} ${header.authority} ${header.alpn} ${header.ssl?.version}\n`);
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    t.after(() => backend.close());
    const ws = await startWarmshake(t, dir, terminateConfig({
      port: await freePort(), backendPort: (backend.address() as { port: number }).port, ...cert,
      frontend: { send_proxy: 'v2', alpn: ['http/1.1'] },
    }));
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const s = tlsConnect({ host: '127.0.0.1', port: ws.ports.https, rejectUnauthorized: false, servername: 'localhost', ALPNProtocols: ['http/1.1'], minVersion: 'TLSv1.3' }, () => s.write('x'));
      s.on('data', (c: Buffer) => { text += c.toString(); });
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    assert.equal(answer, '127.0.0.1 localhost http/1.1 TLSv1.3\n');
  });
}
