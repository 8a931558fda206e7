// limits.per_client_connections over many addresses at once: every address holds its one
// connection, a second from any of them is refused, and every slot comes back when the
// connections close in random order, round after round. On native this works the budget
// table (c/clients.c, open addressing sized from max_connections: 128 slots here, so
// addresses share probe runs) through inserts and deletions; on node, ClientBudgets' Map.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { startWarmshake } from '../helpers/warmshake.ts';
import { waitUntil, WAIT_GUARD_MS } from '../helpers/wait.ts';
import { adminSocket } from './helpers/process.ts';
import { holdTls, type Held } from './helpers/sockets.ts';

const ADDRESSES = Array.from({ length: 40 }, (_, i) => `127.0.${2 + (i % 5)}.${10 + i}`);
const ROUNDS = 3;

async function scur (admin: string): Promise<number> {
  const csv = await sendAdminCommand(admin, 'show stat');
  const header = csv.split('\n')[0].replace(/^# /, '').split(',');
  return Number(csv.split('\n').find((l) => l.startsWith('https,FRONTEND,'))?.split(',')[header.indexOf('scur')]);
}

for (const engine of ENGINES) test(`[${engine}] per_client_connections: 1 over ${ADDRESSES.length} addresses, ${ROUNDS} rounds of hold, refuse a second, close in random order`, async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const admin = adminSocket(t);
  const ws = await startWarmshake(t, dir, {
    global: { workers: 1, engine, log: { level: 'info', format: 'json' }, admin: { socket: admin.path } },
    session_cache: { size: 100, lifetime: 300 },
    frontends: [{ name: 'https', bind: '127.0.0.1:0', certificates: [{ cert: cert.cert, key: cert.key }], backend: 'app',
      limits: { max_connections: 48, per_client_connections: 1 } }],
    backends: [{ name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${backend.port}` }] }],
  });
  admin.cleanUpAfterStop();
  await ws.waitForLog((l) => l.msg.startsWith('engine: ') && l.engine === engine);
  const port = ws.ports.https;
  const held: Held[] = [];
  t.after(() => Promise.all(held.map((h) => h.close())));

  for (let round = 0; round < ROUNDS; round++) {
    const now = await Promise.all(ADDRESSES.map((a) => holdTls(port, a)));
    held.push(...now);
    assert.deepEqual(now.map((h, i) => h.ok ? '' : `${ADDRESSES[i]}: ${h.error}`).filter(Boolean), [], `round ${round}`);
    const extra = ADDRESSES[(round * 7) % ADDRESSES.length];
    const second = await holdTls(port, extra);
    held.push(second);
    assert.equal(second.ok, false, `round ${round}: a second connection from ${extra} was served`);
    await ws.waitForLog((l) => l.stage === 'limit' && String(l.reason) === `more than 1 concurrent connections from ${extra}`);
    // The gauge (refreshed each second) must have seen them open, or reading 0 below would be stale.
    await waitUntil(async () => (await scur(admin.path)) === ADDRESSES.length, `round ${round}: ${ADDRESSES.length} open`, WAIT_GUARD_MS, 100);
    // Close in a shuffled order, so deletions land anywhere in the table's probe runs.
    const order = now.map((h, i) => ({ h, key: (i * 17 + round * 5) % now.length })).sort((a, b) => a.key - b.key);
    for (const { h } of order) await h.close();
    await waitUntil(async () => (await scur(admin.path)) === 0, `round ${round}: every connection closed`, WAIT_GUARD_MS, 100);
  }
});
