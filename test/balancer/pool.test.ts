import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import { BackendPool } from '../../src/balancer/pool.ts';
import { BackendUnavailableError } from '../../src/errors.ts';
import type { ServerState, StateChange } from '../../src/balancer/pool.ts';
import { decodeProxyV2 } from '../../src/balancer/proxy-protocol.ts';
import type { BackendConfig, BalanceAlgorithm, HealthCheckConfig, ServerConfig } from '../../src/config/types.ts';
import { generateSelfSigned } from '../../src/certs/self-signed.ts';

function backend (balance: BalanceAlgorithm, servers: Array<Partial<ServerConfig> & { name: string }>, health_check?: HealthCheckConfig): BackendConfig {
  return {
    name: 'app',
    balance,
    servers: servers.map((s) => ({ address: { host: '127.0.0.1', port: 1 }, weight: 1, ...s })),
    health_check,
  };
}

const names = (picked: Array<ServerState | undefined>): string => picked.map((s) => s?.config.name ?? '-').join('');

function counts (pool: BackendPool, n: number, address = (i: number) => `10.0.0.${i % 256}`): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = pool.pick(address(i))!.config.name;
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

/** A listener on 127.0.0.1 that answers `hello` and keeps the connection open. */
async function listen (t: { after (fn: () => void): void }, onConnection: (s: Socket) => void = (s) => s.write('hello')): Promise<{ server: Server; port: number }> {
  // The pool destroys connections freely; a reset seen by this end is not a failure.
  const server = createServer((socket) => { socket.on('error', () => {}); onConnection(socket); });
  server.listen(0, '127.0.0.1');
  t.after(() => server.close());
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** A port nothing listens on: bind one, then let it go. */
async function closedPort (): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** The next 'state' event, with a generous cap so a broken check fails the test instead of hanging it. */
async function nextState (pool: BackendPool, capMs = 10_000): Promise<StateChange> {
  const ac = new AbortController();
  const cap = setTimeout(() => ac.abort(), capMs);
  try {
    const [change] = await once(pool, 'state', { signal: ac.signal }) as [StateChange];
    return change;
  } catch (err) {
    if (ac.signal.aborted) throw new Error(`no state change within ${capMs} ms`);
    throw err;
  } finally {
    clearTimeout(cap);
  }
}

test('roundrobin: smooth weighted order and exact counts over 1000 picks', () => {
  const smooth = new BackendPool(backend('roundrobin', [{ name: 'a', weight: 5 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]));
  // nginx's example: weights 5,1,1 interleave instead of sending five in a row to a.
  assert.equal(names(Array.from({ length: 7 }, () => smooth.pick(''))), 'aabacaa');

  const pool = new BackendPool(backend('roundrobin', [{ name: 'a', weight: 5 }, { name: 'b', weight: 3 }, { name: 'c', weight: 2 }, { name: 'z', weight: 0 }]));
  assert.deepEqual(counts(pool, 1000), { a: 500, b: 300, c: 200 });
  const [a, b] = pool.servers();
  pool.setUp(b, false, 'test');
  assert.deepEqual(counts(pool, 700), { a: 500, c: 200 });
  assert.equal(pool.pick('', new Set([a, pool.servers()[2]])), undefined, 'b down, a and c excluded, z has weight 0');
});

test('leastconn: fewest active relative to weight, ties in turn', () => {
  const pool = new BackendPool(backend('leastconn', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]));
  assert.equal(names(Array.from({ length: 6 }, () => pool.pick(''))), 'abcabc');
  const [a, b, c] = pool.servers();
  a.active = 3; b.active = 1; c.active = 2;
  assert.equal(pool.pick('')!.config.name, 'b');
  assert.equal(pool.pick('', new Set([b]))!.config.name, 'c');
  b.active = 2;
  const tied = names(Array.from({ length: 4 }, () => pool.pick('')));
  assert.ok(tied === 'bcbc' || tied === 'cbcb', tied);

  const weighted = new BackendPool(backend('leastconn', [{ name: 'a', weight: 2 }, { name: 'b', weight: 1 }]));
  const [wa, wb] = weighted.servers();
  wa.active = 3; wb.active = 2; // 1.5 vs 2 per unit of weight
  assert.equal(weighted.pick('')!.config.name, 'a');
});

test('source: one address keeps one server; a server going down moves only its own clients', () => {
  const pool = new BackendPool(backend('source', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]));
  const addresses = Array.from({ length: 1500 }, (_, i) => `192.0.${i >> 8}.${i & 255}`);
  const before = new Map(addresses.map((addr) => [addr, pool.pick(addr)!]));
  for (const addr of addresses.slice(0, 50)) {
    for (let i = 0; i < 5; i++) assert.equal(pool.pick(addr), before.get(addr));
  }
  const spread = counts(pool, addresses.length, (i) => addresses[i]);
  for (const name of ['a', 'b', 'c']) assert.ok(spread[name] > 350 && spread[name] < 650, JSON.stringify(spread));

  const [, b] = pool.servers();
  pool.setUp(b, false, 'test');
  for (const addr of addresses) {
    const now = pool.pick(addr)!;
    assert.notEqual(now, b);
    if (before.get(addr) !== b) assert.equal(now, before.get(addr), `${addr} moved though its server stayed up`);
  }
  pool.setUp(b, true, 'test');
  for (const addr of addresses) assert.equal(pool.pick(addr), before.get(addr));

  const weighted = new BackendPool(backend('source', [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }]));
  const w = counts(weighted, addresses.length, (i) => addresses[i]);
  assert.ok(w.a > 2.2 * w.b && w.a < 4 * w.b, JSON.stringify(w));
});

test('connect: fails over from a refusing server, counts active connections', async (t) => {
  const { port } = await listen(t);
  const pool = new BackendPool(backend('roundrobin', [{ name: 'dead', address: { host: '127.0.0.1', port: await closedPort() } }, { name: 'live', address: { host: '127.0.0.1', port } }]));
  const [dead, live] = pool.servers();
  const { socket, server } = await pool.connect('203.0.113.1', { prefer: dead });
  assert.equal(server, live);
  assert.equal(dead.failures, 1);
  assert.equal(dead.active, 0);
  assert.equal(dead.up, true, 'without health checks a failed connect does not mark it down');
  assert.equal(live.active, 1);
  assert.equal(live.total, 1);
  const [data] = await once(socket, 'data') as [Buffer];
  assert.equal(data.toString(), 'hello');
  socket.destroy();
  await once(socket, 'close');
  assert.equal(live.active, 0);
});

test('connect: all servers failing rejects naming each one and why', async () => {
  const pool = new BackendPool(backend('roundrobin', [
    { name: 's1', address: { host: '127.0.0.1', port: await closedPort() } },
    { name: 's2', address: { host: '127.0.0.1', port: await closedPort() } },
    { name: 's3' },
  ]));
  pool.setUp(pool.servers()[2], false, 'test');
  const err = await pool.connect('203.0.113.1').then(() => assert.fail('connected'), (e: unknown) => e);
  assert.ok(err instanceof BackendUnavailableError);
  assert.equal(err.code, 'WS_ERR_BACKEND_UNAVAILABLE');
  assert.deepEqual(err.attempts.map((a) => a.server).sort(), ['s1', 's2']);
  assert.match(err.message, /backend app: every server failed/);
  assert.match(err.message, /s1 \(127\.0\.0\.1:\d+\): ECONNREFUSED/);
  assert.match(err.message, /s2 \(127\.0\.0\.1:\d+\): ECONNREFUSED/);
  assert.match(err.message, /s3 \(127\.0\.0\.1:1\): down/);
  for (const s of pool.servers()) assert.equal(s.active, 0);

  for (const s of pool.servers()) pool.setUp(s, false, 'test');
  await assert.rejects(pool.connect('x'), /no server is available/);
});

test('connect: a server that never finishes its TLS handshake times out, the next one serves', async (t) => {
  const silent = await listen(t, () => {}); // accepts, never answers the ClientHello
  const { port } = await listen(t);
  const pool = new BackendPool(backend('roundrobin', [
    { name: 'stuck', address: { host: '127.0.0.1', port: silent.port }, tls: { verify: false } },
    { name: 'plain', address: { host: '127.0.0.1', port } },
  ]));
  const [stuck] = pool.servers();
  const { server, socket } = await pool.connect('x', { prefer: stuck, connectTimeout: 100 });
  t.after(() => socket.destroy());
  assert.equal(server.config.name, 'plain');
  assert.equal(stuck.failures, 1);

  pool.setUp(pool.servers()[1], false, 'test');
  await assert.rejects(pool.connect('x', { connectTimeout: 100 }), /stuck \(127\.0\.0\.1:\d+\): TLS handshake with stuck not done within 100 ms/);
});

test('connect: TLS to a server verified against its CA file, or raw for pass-through', async (t) => {
  const { cert, key } = generateSelfSigned({ names: ['backend.test'] });
  const dir = mkdtempSync(join(tmpdir(), 'warmshake-pool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.pem'), cert);
  const tlsServer = createTlsServer({ cert, key }, (s) => s.end('secret'));
  tlsServer.listen(0, '127.0.0.1');
  t.after(() => tlsServer.close());
  await once(tlsServer, 'listening');
  const address = { host: '127.0.0.1', port: (tlsServer.address() as AddressInfo).port };
  const pool = new BackendPool(backend('roundrobin', [{ name: 'tls', address, tls: { verify: true, servername: 'backend.test', ca: join(dir, 'ca.pem') } }]));
  const { socket } = await pool.connect('x');
  assert.ok(socket instanceof TLSSocket);
  assert.equal(socket.authorized, true);
  const [data] = await once(socket, 'data') as [Buffer];
  assert.equal(data.toString(), 'secret');
  socket.destroy();

  const raw = await pool.connect('x', { raw: true });
  assert.ok(!(raw.socket instanceof TLSSocket));
  raw.socket.destroy();

  const wrongName = new BackendPool(backend('roundrobin', [{ name: 'tls', address, tls: { verify: true, servername: 'other.test', ca: join(dir, 'ca.pem') } }]));
  await assert.rejects(wrongName.connect('x'), /ERR_TLS_CERT_ALTNAME_INVALID/);
});

const fastCheck = (type: 'tcp' | 'tls' = 'tcp'): HealthCheckConfig => ({ type, interval: 50, rise: 2, fall: 2, timeout: 500 });

test('health checks: a stopped server goes down after `fall`, comes back after `rise`', async (t) => {
  const { server: listener, port } = await listen(t, (s) => s.destroy());
  const pool = new BackendPool(backend('roundrobin', [{ name: 'a', address: { host: '127.0.0.1', port } }, { name: 'b' }], fastCheck()));
  const [a, b] = pool.servers();
  pool.setUp(b, false, 'not under test');
  pool.startHealthChecks();
  t.after(() => pool.stop());

  listener.close();
  const down = await nextState(pool);
  assert.equal(down.server, a);
  assert.equal(down.up, false);
  assert.equal(down.backend, 'app');
  assert.match(down.reason, /2 failures in a row, last: tcp check failed: ECONNREFUSED/);
  assert.equal(a.up, false);
  assert.equal(pool.pick('x'), undefined);

  const again = createServer((s) => { s.on('error', () => {}); s.destroy(); });
  again.listen(port, '127.0.0.1');
  t.after(() => again.close());
  await once(again, 'listening');
  const up = await nextState(pool);
  assert.equal(up.server, a);
  assert.equal(up.up, true);
  assert.match(up.reason, /2 successful checks in a row/);
  assert.equal(pool.pick('x'), a);
});

test('health checks: tls type wants a handshake; optional PROXY v2 LOCAL header first', async (t) => {
  const { cert, key } = generateSelfSigned({ names: ['localhost'] });
  const headers: string[] = [];
  // Checks run one after another per server, so the 4th header means 3 checks finished.
  let fourHeaders!: () => void;
  const checked = new Promise<void>((resolve) => { fourHeaders = resolve; });
  const tlsServer = createTlsServer({ cert, key }, (s) => s.destroy());
  tlsServer.on('tlsClientError', () => {}); // the check hangs up right after the handshake
  // A raw listener in front of the TLS server strips the PROXY header first, as a backend
  // with accept-proxy would.
  const { port } = await listen(t, (socket) => {
    socket.once('readable', () => {
      const head = socket.read(16) as Buffer | null;
      if (!head) { socket.destroy(); return; }
      const rest = socket.read(head.readUInt16BE(14)) as Buffer | null;
      const decoded = decodeProxyV2(Buffer.concat([head, rest ?? Buffer.alloc(0)]));
      headers.push(decoded?.command ?? 'none');
      if (headers.length === 4) fourHeaders();
      tlsServer.emit('connection', socket);
    });
  });
  const plain = await listen(t, (s) => s.end()); // answers TCP, not TLS

  const pool = new BackendPool(backend('roundrobin', [
    { name: 'tls', address: { host: '127.0.0.1', port } },
    { name: 'plain', address: { host: '127.0.0.1', port: plain.port } },
  ], fastCheck('tls')), { checkSendProxy: true });
  pool.startHealthChecks();
  t.after(() => pool.stop());
  const changes: StateChange[] = [];
  pool.on('state', (c) => changes.push(c));
  const down = await nextState(pool);
  assert.equal(down.server.config.name, 'plain', 'a server that speaks no TLS fails a tls check');
  assert.match(down.reason, /tls check failed/);
  await checked;
  // Three handshakes through the PROXY header finished and `fall` is 2: had they failed, it would be down.
  assert.equal(pool.servers()[0].up, true);
  assert.deepEqual(changes.map((c) => c.server.config.name), ['plain']);
  assert.ok(headers.length > 0 && headers.every((h) => h === 'LOCAL'), headers.join());
});

test('passive checks: failed connects from live traffic count toward `fall`', async () => {
  const pool = new BackendPool(backend('roundrobin', [{ name: 'a', address: { host: '127.0.0.1', port: await closedPort() } }],
    { type: 'tcp', interval: 60_000, rise: 1, fall: 2, timeout: 500 }));
  const changes: StateChange[] = [];
  pool.on('state', (c) => changes.push(c));
  await assert.rejects(pool.connect('x'), BackendUnavailableError);
  assert.equal(pool.servers()[0].up, true);
  await assert.rejects(pool.connect('x'), BackendUnavailableError);
  assert.equal(pool.servers()[0].up, false);
  assert.equal(changes.length, 1);
  assert.match(changes[0].reason, /connect failed: ECONNREFUSED/);
  await assert.rejects(pool.connect('x'), /no server is available \(a \(127\.0\.0\.1:\d+\): down\)/);
});
