// Address filters and connection limits, checked before any TLS work: a refused client
// is closed without a single byte (no ServerHello, no alert), others are served. One
// warmshake with a frontend per rule; distinct loopback addresses are distinct clients.
// Run on both engines; on native every rule, per-client limits included, is the C engine's own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpBackend } from '../helpers/backend.ts';
import { ENGINES, type Engine } from '../helpers/engines.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { pythonResume, run } from '../helpers/peers.ts';
import { startWarmshake, type Running } from '../helpers/warmshake.ts';
import { waitUntil, WAIT_GUARD_MS } from '../helpers/wait.ts';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { adminSocket } from './helpers/process.ts';
import { captureClientHello, holdTls, rawClient, tlsGet, type Held } from './helpers/sockets.ts';

const PER_CLIENT = 3;
const MAX_CONNECTIONS = 4;

async function start (t: import('node:test').TestContext, engine: Engine): Promise<{ ws: Running; admin: string }> {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const admin = adminSocket(t);
  const frontend = (name: string, bind: string, extra: Record<string, unknown>) => ({
    name, bind, certificates: [{ cert: cert.cert, key: cert.key }], backend: 'app', timeout: { handshake: '5s' }, ...extra,
  });
  const ws = await startWarmshake(t, dir, {
    global: { workers: 1, engine, log: { level: 'info', format: 'json' }, admin: { socket: admin.path } },
    session_cache: { size: 1000, lifetime: 300 },
    frontends: [
      frontend('deny', '127.0.0.1:0', { deny: ['127.0.0.5/32'] }),
      frontend('allow', '127.0.0.1:0', { allow: ['127.0.0.0/30'] }),
      frontend('v6allow', '[::1]:0', { allow: ['::1/128'] }),
      frontend('v6deny', '[::1]:0', { deny: ['::1/128'] }),
      // Dual-stack: IPv4 clients arrive as ::ffff:a.b.c.d and are matched as IPv4.
      frontend('mapped', '[::]:0', { allow: ['127.0.0.0/30'] }),
      frontend('perclient', '127.0.0.1:0', { limits: { per_client_connections: PER_CLIENT } }),
      frontend('capped', '127.0.0.1:0', { limits: { max_connections: MAX_CONNECTIONS } }),
    ],
    backends: [{ name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${backend.port}` }] }],
  });
  admin.cleanUpAfterStop();
  await ws.waitForLog((l) => l.msg.startsWith('engine: ') && l.engine === engine);
  // On native, allow/deny, max_connections and per-client limits are the C engine's own: no frontend falls back.
  const fallback = ws.logs.filter((l) => /runs on engine node/.test(l.msg)).map((l) => l.msg);
  assert.deepEqual(fallback, []);
  return { ws, admin: admin.path };
}

/** A refused client: a real ClientHello sent, not one byte back, the connection closed. */
async function assertRefused (port: number, localAddress: string, host = '127.0.0.1'): Promise<void> {
  const closed = await rawClient({ port, host, localAddress, payload: await captureClientHello() });
  assert.equal(closed.received, 0, `${localAddress} got ${closed.received} bytes`);
  assert.notEqual(closed.closedAfter, undefined, `${localAddress}: ${closed.error}`);
  assert.ok(closed.error !== `still open after 15000 ms`, `${localAddress} was never closed`);
}

/** Current connections of one frontend, as `show stat` reports them (a gauge the workers refresh every second). */
async function scur (admin: string, frontend: string): Promise<number> {
  const csv = await sendAdminCommand(admin, 'show stat');
  const header = csv.split('\n')[0].replace(/^# /, '').split(',');
  const row = csv.split('\n').find((l) => l.startsWith(`${frontend},FRONTEND,`));
  return Number(row?.split(',')[header.indexOf('scur')]);
}

async function waitFor (what: string, condition: () => Promise<boolean>): Promise<void> {
  await waitUntil(condition, what, WAIT_GUARD_MS, 100);
}

for (const engine of ENGINES) test(`[${engine}] allow and deny lists (IPv4 and IPv6) and per-client and per-frontend connection limits`, async (t) => {
  const { ws, admin } = await start(t, engine);
  const { deny, allow, v6allow, v6deny, mapped, perclient, capped } = ws.ports;

  await t.test('deny: [127.0.0.5/32] closes 127.0.0.5 with zero bytes; 127.0.0.6 is served', async () => {
    await assertRefused(deny, '127.0.0.5');
    await assert.rejects(pythonResume(deny, '1.3', 1, 'localhost', '127.0.0.5'), 'Python from a denied address must fail');
    assert.ok((await tlsGet(deny, '127.0.0.6')).ok);
    assert.deepEqual(await pythonResume(deny, '1.2', 2, 'localhost', '127.0.0.6'), [false, true]);
    await ws.waitForLog((l) => l.stage === 'access' && String(l.client).startsWith('127.0.0.5:'));
  });

  await t.test('allow: [127.0.0.0/30] serves 127.0.0.2 and refuses 127.0.0.4', async () => {
    assert.ok((await tlsGet(allow, '127.0.0.2')).ok);
    await assertRefused(allow, '127.0.0.4');
  });

  await t.test('IPv6: allow [::1/128] serves ::1, deny [::1/128] refuses it', async () => {
    assert.ok((await tlsGet(v6allow, '::1', '::1')).ok);
    await assertRefused(v6deny, '::1', '::1');
    await ws.waitForLog((l) => l.stage === 'access' && l.frontend === 'v6deny');
  });

  await t.test('IPv4-mapped: on [::], allow [127.0.0.0/30] serves 127.0.0.2 and refuses 127.0.0.4', async () => {
    assert.ok((await tlsGet(mapped, '127.0.0.2')).ok);
    await assertRefused(mapped, '127.0.0.4');
    await ws.waitForLog((l) => l.stage === 'access' && l.frontend === 'mapped');
  });

  await t.test(`per_client_connections: ${PER_CLIENT}: the ${PER_CLIENT + 1}th concurrent connection from one address is closed, others are fine`, async (st) => {
    const held: Held[] = [];
    st.after(() => Promise.all(held.map((h) => h.close())));
    for (let i = 0; i < PER_CLIENT; i++) held.push(await holdTls(perclient, '127.0.0.2'));
    assert.deepEqual(held.map((h) => h.error), new Array(PER_CLIENT).fill(undefined));
    await assertRefused(perclient, '127.0.0.2');
    await ws.waitForLog((l) => l.stage === 'limit' && l.frontend === 'perclient');
    assert.ok((await tlsGet(perclient, '127.0.0.3')).ok, 'another address is not limited');
    // A closed connection gives its slot back.
    await held.pop()!.close();
    await waitFor('perclient down to 2 connections', async () => (await scur(admin, 'perclient')) === PER_CLIENT - 1);
    const again = await holdTls(perclient, '127.0.0.2');
    held.push(again);
    assert.equal(again.error, undefined);
  });

  await t.test(`max_connections: ${MAX_CONNECTIONS}: connection ${MAX_CONNECTIONS + 1} is closed whatever its address`, async (st) => {
    const held: Held[] = [];
    st.after(() => Promise.all(held.map((h) => h.close())));
    for (let i = 0; i < MAX_CONNECTIONS; i++) held.push(await holdTls(capped, `127.0.0.${11 + i}`));
    assert.deepEqual(held.map((h) => h.error), new Array(MAX_CONNECTIONS).fill(undefined));
    await assertRefused(capped, '127.0.0.20');
    await ws.waitForLog((l) => l.stage === 'limit' && l.frontend === 'capped');
    await held.pop()!.close();
    await waitFor('capped down to 3 connections', async () => (await scur(admin, 'capped')) === MAX_CONNECTIONS - 1);
    const again = await tlsGet(capped, '127.0.0.20');
    assert.ok(again.ok, again.error);
  });
});

/** 3000 networks that hold no loopback address: IPv4 and IPv6, four prefix lengths. */
function fillers (): string[] {
  const out: string[] = [];
  for (let i = 0; i < 1000; i++) out.push(`10.${i >> 8}.${i & 255}.${(i * 7) & 255}/32`);
  for (let i = 0; i < 500; i++) out.push(`11.${i >> 8}.${i & 255}.0/24`);
  for (let i = 0; i < 1000; i++) out.push(`2001:db8::${i.toString(16)}/128`);
  for (let i = 0; i < 500; i++) out.push(`2001:db8:${i.toString(16)}::/48`);
  return out;
}

/** curl from `from` to the frontend at `host`: its body, or how it failed. */
async function curlFrom (port: number, from: string, host: string): Promise<string> {
  const r = await run('curl', ['-sk', '--fail', '--max-time', '20', '--interface', from, `https://${host.includes(':') ? `[${host}]` : host}:${port}/`], '', 60_000);
  return r.code === 0 ? r.stdout.trim() : `curl exit ${r.code}`;
}

for (const engine of ENGINES) test(`[${engine}] allow and deny lists of 3000+ networks: the listed loopback addresses are refused or served, IPv4 and IPv6`, async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t, 'served\n');
  const frontend = (name: string, extra: Record<string, unknown>) => ({
    name, bind: '[::]:0', certificates: [{ cert: cert.cert, key: cert.key }], backend: 'app', ...extra,
  });
  // The loopback entries sit among the fillers (the engine sorts them; order must not matter).
  const among = (extra: string[]): string[] => { const list = fillers(); list.splice(1234, 0, extra[0]); list.splice(2500, 0, ...extra.slice(1)); return list; };
  const ws = await startWarmshake(t, dir, {
    global: { workers: 1, engine, log: { level: 'info', format: 'json' } },
    session_cache: { size: 1000, lifetime: 300 },
    frontends: [
      frontend('longdeny', { deny: among(['127.0.0.7/32', '::1/128']) }),
      frontend('longallow', { allow: among(['127.0.0.8/31', '::1/128']) }),
    ],
    backends: [{ name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${backend.port}` }] }],
  });
  await ws.waitForLog((l) => l.msg.startsWith('engine: ') && l.engine === engine);
  assert.deepEqual(ws.logs.filter((l) => /runs on engine node/.test(l.msg)).map((l) => l.msg), [], 'long lists are served by the native engine');
  const { longdeny, longallow } = ws.ports;

  assert.equal(await curlFrom(longdeny, '127.0.0.6', '127.0.0.1'), 'served');
  assert.notEqual(await curlFrom(longdeny, '127.0.0.7', '127.0.0.1'), 'served');
  await assertRefused(longdeny, '127.0.0.7');
  assert.notEqual(await curlFrom(longdeny, '::1', '::1'), 'served');
  await assertRefused(longdeny, '::1', '::1');
  await ws.waitForLog((l) => l.stage === 'access' && l.frontend === 'longdeny' && String(l.client).startsWith('::1'));

  assert.equal(await curlFrom(longallow, '127.0.0.9', '127.0.0.1'), 'served');
  assert.equal(await curlFrom(longallow, '::1', '::1'), 'served');
  assert.notEqual(await curlFrom(longallow, '127.0.0.10', '127.0.0.1'), 'served');
  await assertRefused(longallow, '127.0.0.10');
  await ws.waitForLog((l) => l.stage === 'access' && l.frontend === 'longallow');
});
