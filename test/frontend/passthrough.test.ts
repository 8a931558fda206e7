// Pass-through with SSL session persistence against real backends: `openssl s_server`
// processes, each with its own session cache and ticket key, behind a Passthrough built
// in-process with a MemoryStore stick table; real `openssl s_client` clients.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { BackendPool } from '../../src/balancer/pool.ts';
import { StickTable } from '../../src/balancer/stick-table.ts';
import { Passthrough } from '../../src/frontend/passthrough.ts';
import { decodeProxyV2 } from '../../src/balancer/proxy-protocol.ts';
import { validateConfig } from '../../src/config/schema.ts';
import type { ConnectionErrorEvent, StickEvent } from '../../src/diagnostics.ts';
import { MemoryStore } from '../../src/session-cache/memory-store.ts';
import { tempDir, writeCert, type CertFiles } from '../helpers/certs.ts';
import { clientHelloRecords, ext } from '../tls/helpers/hello-builder.ts';
import { sClient, startSServer, type SServer } from '../balancer/helpers/s-server.ts';
import { waitUntil } from '../helpers/wait.ts';

interface Balancer {
  port: number;
  passthrough: Passthrough;
  /** The stick table's store, read as `show table` reads it. */
  table: StickTable;
  sticks: StickEvent[];
  errors: ConnectionErrorEvent[];
  /** Resolves once the ticket-key probe learned `n` key names. */
  probed (n: number): Promise<void>;
}

function listenEvents<T> (t: TestContext, name: string, into: T[]): void {
  const fn = (message: unknown): void => { into.push(message as T); };
  diagnostics.subscribe(name, fn);
  t.after(() => diagnostics.unsubscribe(name, fn));
}

/** A Passthrough in front of `ports` (servers s1, s2, ...), round-robin, with `frontend` settings merged in. */
async function startBalancer (t: TestContext, ports: number[], frontend: Record<string, unknown> = {}, probe = true): Promise<Balancer> {
  const name = `pt${Math.random().toString(36).slice(2, 8)}`;
  const { config, errors } = validateConfig({
    global: { workers: 1 },
    frontends: [{ name, bind: '127.0.0.1:0', mode: 'passthrough', backend: 'app', ...frontend }],
    backends: [{ name: 'app', balance: 'roundrobin', servers: ports.map((p, i) => ({ name: `s${i + 1}`, address: `127.0.0.1:${p}` })) }],
  }, '/', 'test');
  assert.deepEqual(errors, []);
  const pools = new Map(config!.backends.map((b) => [b.name, new BackendPool(b)]));
  const store = new MemoryStore({ size: 1000, lifetime: 60_000, maxEntryBytes: 64 });
  const passthrough = new Passthrough({ frontend: config!.frontends[0], pools, table: store, probe });
  const sticks: StickEvent[] = [];
  const errorsSeen: ConnectionErrorEvent[] = [];
  listenEvents(t, 'warmshake:stick', sticks);
  listenEvents(t, 'warmshake:connection:error', errorsSeen);
  const probes: Array<{ n: number; resolve: () => void }> = [];
  const onStick = (message: unknown): void => {
    const learned = sticks.filter((e) => e.frontend === name && e.source === 'probe').length;
    if ((message as StickEvent).frontend === name) probes.filter((p) => learned >= p.n).forEach((p) => p.resolve());
  };
  diagnostics.subscribe('warmshake:stick', onStick);
  t.after(() => diagnostics.unsubscribe('warmshake:stick', onStick));
  const port = await passthrough.listen();
  t.after(() => passthrough.close(0));
  const probed = (n: number): Promise<void> => new Promise((resolve) => {
    probes.push({ n, resolve });
    onStick({ frontend: name });
  });
  return { port, passthrough, table: new StickTable(store, name, 60_000), sticks, errors: errorsSeen, probed };
}

const PERSIST = { persist: { size: 1000, expire: '10m', probe_every: 0 } };

async function backends (t: TestContext, cert: CertFiles, n: number, args: string[]): Promise<SServer[]> {
  return Promise.all(Array.from({ length: n }, () => startSServer(t, cert, args)));
}

test('TLS 1.2 session ids: s_client -reconnect through three backends resumes 5 of 5 with persistence, not without', async (t) => {
  const cert = writeCert(tempDir(t));
  const servers = await backends(t, cert, 3, []);
  const ports = servers.map((s) => s.port);

  const on = await startBalancer(t, ports, PERSIST);
  const stuck = await sClient(on.port, ['-tls1_2', '-no_ticket', '-reconnect']);
  assert.equal(stuck.reused, 5, stuck.stdout);
  assert.equal(on.sticks.filter((e) => e.action === 'hit' && e.kind === 'id').length, 5);
  const rows = await on.table.list(10);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].kind, 'id');

  const off = await startBalancer(t, ports);
  const spread = await sClient(off.port, ['-tls1_2', '-no_ticket', '-reconnect']);
  assert.equal(spread.reused + spread.fresh, 6, spread.stdout);
  assert.ok(spread.reused < 5, `without persistence ${spread.reused} of 5 resumed`);
});

test('TLS 1.3 stateless tickets: 20 alternating clients all resume with persistence (probed key names), none without', async (t) => {
  const cert = writeCert(tempDir(t));
  const dir = tempDir(t);
  const ports = (await backends(t, cert, 3, [])).map((s) => s.port);
  for (const persist of [true, false]) {
    const b = await startBalancer(t, ports, persist ? { persist: { size: 1000, expire: '10m' } } : {});
    if (persist) await b.probed(3);
    // Full handshakes spread round-robin, then as many resumptions: with three servers and
    // a count that is not a multiple of three, the round-robin alone sends every one to a
    // server that does not hold it (7 clients are enough to show that).
    const files = Array.from({ length: persist ? 20 : 7 }, (_, i) => join(dir, `${persist}-${i}.sess`));
    for (const file of files) assert.equal((await sClient(b.port, ['-tls1_3', '-sess_out', file])).fresh, 1);
    let reused = 0;
    for (const file of files) reused += (await sClient(b.port, ['-tls1_3', '-sess_in', file])).reused;
    if (persist) {
      assert.equal(reused, files.length);
      assert.equal(b.sticks.filter((e) => e.action === 'hit' && e.kind === 'key_name').length, 20);
    } else {
      assert.equal(reused, 0);
    }
  }
});

test('TLS 1.3 stateful tickets (s_server -no_ticket): once a PSK identity is accepted it sticks; without persistence it drifts', async (t) => {
  const cert = writeCert(tempDir(t));
  const dir = tempDir(t);
  const ports = (await backends(t, cert, 3, ['-no_ticket'])).map((s) => s.port);
  const totals: Record<string, number> = {};
  for (const persist of [true, false]) {
    const b = await startBalancer(t, ports, persist ? PERSIST : {});
    const files = Array.from({ length: 4 }, (_, i) => join(dir, `${persist}-${i}.sess`));
    for (const file of files) await sClient(b.port, ['-tls1_3', '-sess_out', file]);
    const history = files.map(() => [] as boolean[]);
    for (let round = 0; round < 5; round++) {
      for (const [i, file] of files.entries()) history[i].push((await sClient(b.port, ['-tls1_3', '-sess_in', file])).reused === 1);
    }
    totals[String(persist)] = history.flat().filter(Boolean).length;
    if (persist) {
      // A TLS 1.3 full handshake shows nothing (the tickets are encrypted): the first
      // resumption is a round-robin guess; once the server accepts it, it is learned.
      for (const h of history) {
        const first = h.indexOf(true);
        if (first >= 0) assert.deepEqual(h.slice(first), h.slice(first).map(() => true), `history ${h}`);
      }
      assert.ok(b.sticks.some((e) => e.action === 'learn' && e.kind === 'psk'));
    }
  }
  assert.ok(totals.true > totals.false, `resumed with persistence ${totals.true}, without ${totals.false}`);
  assert.ok(totals.true >= 10, `resumed with persistence ${totals.true} of 20`);
  t.diagnostic(`resumed with persistence ${totals.true} of 20, without ${totals.false}`);
});

test('TLS 1.2 tickets: the key name in the clear NewSessionTicket sticks the first resumption', async (t) => {
  const cert = writeCert(tempDir(t));
  const dir = tempDir(t);
  const ports = (await backends(t, cert, 3, [])).map((s) => s.port);
  const b = await startBalancer(t, ports, PERSIST);
  const files = Array.from({ length: 5 }, (_, i) => join(dir, `${i}.sess`));
  for (const file of files) await sClient(b.port, ['-tls1_2', '-sess_out', file]);
  let reused = 0;
  for (const file of files) reused += (await sClient(b.port, ['-tls1_2', '-sess_in', file])).reused;
  assert.equal(reused, 5);
  assert.ok(b.sticks.some((e) => e.action === 'learn' && e.kind === 'key_name' && e.source === 'flight'));
});

test('the backend holding a session stops: the next connection succeeds elsewhere, later ones stick there', async (t) => {
  const cert = writeCert(tempDir(t));
  const dir = tempDir(t);
  const servers = await backends(t, cert, 2, []);
  const b = await startBalancer(t, servers.map((s) => s.port), PERSIST);
  const [first, second] = [join(dir, 'a.sess'), join(dir, 'b.sess')];
  assert.equal((await sClient(b.port, ['-tls1_2', '-no_ticket', '-sess_out', first])).fresh, 1);
  assert.equal((await sClient(b.port, ['-tls1_2', '-no_ticket', '-sess_in', first])).reused, 1);
  const holder = b.sticks.find((e) => e.action === 'hit')!.server!;
  await servers[Number(holder.slice(1)) - 1].stop();

  const moved = await sClient(b.port, ['-tls1_2', '-no_ticket', '-sess_in', first, '-sess_out', second]);
  assert.equal(moved.fresh, 1, moved.stdout);
  assert.ok(b.sticks.some((e) => e.action === 'miss' && e.reason === 'connect_failed' && e.server === holder));
  for (let i = 0; i < 3; i++) assert.equal((await sClient(b.port, ['-tls1_2', '-no_ticket', '-sess_in', second])).reused, 1);
  const last = b.sticks.filter((e) => e.action === 'hit').at(-1)!;
  assert.notEqual(last.server, holder);
});

/** A TCP backend that keeps what each connection sent. */
async function recorder (t: TestContext): Promise<{ port: number; received: Array<Promise<Buffer>> }> {
  const received: Array<Promise<Buffer>> = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    received.push(once(socket, 'close').then(() => Buffer.concat(chunks)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return { port: (server.address() as { port: number }).port, received };
}

async function send (port: number, pieces: Buffer[]): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  await once(socket, 'connect');
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((resolve) => setTimeout(resolve, 5)); // separate TCP segments
  }
  return socket;
}

const hello = (extra: Array<readonly [number, Buffer]> = []): Buffer =>
  clientHelloRecords({ sessionId: Buffer.alloc(32, 7), extensions: [ext.serverName('localhost'), ...extra] }, 40);

test('ClientHellos split over records and TCP segments are reassembled and replayed byte for byte; bad ones are closed, after a fatal alert when they are bad TLS', async (t) => {
  const backend = await recorder(t);
  const b = await startBalancer(t, [backend.port], {
    ...PERSIST, timeout: { handshake: '1s', client: '2s', server: '2s' }, limits: { max_client_hello: 512, max_client_hello_records: 8 },
  });
  // Fragmented: several records of 40 bytes, written a few bytes at a time.
  const bytes = hello();
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
  const client = await send(b.port, pieces);
  await waitUntil(() => backend.received.length > 0, 'the backend receiving the ClientHello');
  client.end();
  assert.deepEqual(await backend.received[0], bytes);

  // What the client gets back before the close. It must read: a socket that leaves
  // bytes unread (the alert) never sees the FIN behind them, and waits forever.
  const closed = async (pieces: Buffer[]): Promise<number[]> => {
    const socket = await send(b.port, pieces);
    const got: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => got.push(chunk));
    if (!socket.destroyed) await once(socket, 'close');
    return [...Buffer.concat(got)];
  };
  const alert = (code: number): number[] => [21, 3, 3, 0, 2, 2, code];
  assert.deepEqual(await closed([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]), [], 'no TLS alert to a client that does not speak TLS');
  assert.deepEqual(await closed([hello([[21, Buffer.alloc(1000)]])]), alert(47), 'over max_client_hello: illegal_parameter');
  assert.deepEqual(await closed([clientHelloRecords({ extensions: [ext.serverName('localhost')] }, 4)]), alert(47), 'over 8 records: illegal_parameter');
  assert.deepEqual(await closed([bytes.subarray(0, 30)]), [], 'never finished: closed by the handshake timeout, no alert');
  assert.deepEqual(await closed([Buffer.from([22, 3, 1, 0, 4, 1, 0, 0, 0])]), alert(50), 'a ClientHello too short for its fields: decode_error');
  for (let i = 0; i < 20; i++) {
    const junk = Buffer.from(Array.from({ length: 64 }, () => Math.floor(Math.random() * 256)));
    if (i % 2 === 0) junk.set([22, 3, 1, 0, 59], 0);
    const answer = await closed([junk]);
    // Junk gets nothing, or one fatal alert when it starts like a TLS record.
    assert.ok(answer.length === 0 || (answer.length === 7 && answer[0] === 21 && answer[5] === 2), `junk ${junk.toString('hex')} got ${answer}`);
  }
  const reasons = b.errors.map((e) => `${e.stage}: ${e.reason}`);
  assert.ok(reasons.some((r) => /client_hello: not TLS: looks like an HTTP request/.test(r)), reasons.join('\n'));
  assert.ok(reasons.some((r) => /client_hello: .*exceeds 512/.test(r)), reasons.join('\n'));
  assert.ok(reasons.some((r) => /client_hello: .*more than 8 records/.test(r)), reasons.join('\n'));
  assert.ok(reasons.some((r) => /^timeout:/.test(r)), reasons.join('\n'));
  assert.equal(backend.received.length, 1);
});

test('send_proxy v2 in pass-through: the backend sees the client address, then the ClientHello', async (t) => {
  const backend = await recorder(t);
  const b = await startBalancer(t, [backend.port], { send_proxy: 'v2' });
  const bytes = hello();
  const client = await send(b.port, [bytes]);
  await waitUntil(() => backend.received.length > 0, 'the backend receiving the ClientHello');
  const local = client.localPort;
  client.end();
  const got = await backend.received[0];
  const header = decodeProxyV2(got)!;
  assert.equal(header.command, 'PROXY');
  assert.equal(header.source?.address, '127.0.0.1');
  assert.equal(header.source?.port, local);
  assert.equal(header.destination?.port, b.port);
  assert.equal(header.authority, 'localhost');
  assert.deepEqual(got.subarray(header.length), bytes);
});
