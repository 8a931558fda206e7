// The session cache is a DoS target: one address making new sessions as fast as it can
// would push everyone else's out. With `limits.per_client_new_sessions` its sessions
// beyond the budget are not cached, and 100 other clients (127.0.0.2-127.0.0.101, via
// Python's source_address) keep resuming; without the limit the same flood evicts them,
// which shows this test can fail.
//
// Scaled to this 2-core machine: issue 8 says 10,000 new sessions; a full handshake costs
// 2-3 ms of server CPU here, with the flooder and the 100 clients on the same two cores,
// so each run floods for FLOOD_SECONDS (a few thousand full handshakes). What matters is
// that the flood is many times the cache (size 300), so without the limit the cache turns
// over several times while the 100 reconnect.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { run } from '../helpers/peers.ts';
import { freePort } from '../../bench/ports.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';
import { adminSocket, showInfo, sleep } from './helpers/process.ts';

const CLIENTS = 100;
const CACHE_SIZE = 300;
const NEW_SESSIONS_PER_SECOND = 20;
const FLOOD_SECONDS = 6;
const CLIENTS_SCRIPT = fileURLToPath(new URL('./helpers/reconnecting-clients.py', import.meta.url));
const FLOODER = fileURLToPath(new URL('./helpers/new-session-flood.ts', import.meta.url));

interface Outcome {
  /** Clients that resumed, per round of reconnections made during the flood. */
  rounds: number[];
  resumedShare: number;
  floodHandshakes: number;
  evictions: number;
}

async function scenario (t: TestContext, limit: number): Promise<Outcome> {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const admin = adminSocket(t);
  const ws = await startWarmshake(t, dir, terminateConfig({
    port: await freePort(), backendPort: backend.port, ...cert, size: CACHE_SIZE, tickets: false,
    global: { admin: { socket: admin.path }, log: { level: 'info', format: 'json' } },
    frontend: { limits: { per_client_new_sessions: limit } },
  }));
  admin.cleanUpAfterStop();
  const port = ws.ports.https;

  // The 100 clients make their sessions, then wait for the flood to be under way.
  const clients = spawn('python3', [CLIENTS_SCRIPT, String(port), '127.0.0.2', String(CLIENTS), String(FLOOD_SECONDS)], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => { clients.kill(); });
  let stderr = '';
  clients.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const lines = createInterface({ input: clients.stdout });
  const next = (): Promise<Record<string, unknown>> => new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as Record<string, unknown>));
    clients.once('exit', (code) => reject(new Error(`reconnecting clients exited with ${code}: ${stderr}`)));
  });
  assert.deepEqual(await next(), { ready: CLIENTS });

  // One address (127.0.0.1), full handshakes only, every one a new session to store.
  const flood = run(process.execPath, ['--disable-warning=ExperimentalWarning', FLOODER, String(port), String(FLOOD_SECONDS + 1), '8', '127.0.0.1'], '', 60_000);
  // Let the flood get going (its first second) before the clients reconnect.
  await sleep(1000);
  clients.stdin.write('go\n');
  const result = await next();
  const flooded = await flood;
  assert.equal(flooded.code, 0, flooded.stderr);
  const floodResult = JSON.parse(flooded.stdout) as { full: number; errors: number };
  const rounds = result.rounds as number[];
  assert.equal(result.errors, 0, `reconnecting clients saw errors: ${JSON.stringify(result)}`);
  assert.ok(rounds.length >= 2, `only ${rounds.length} round(s) of reconnections during the flood`);
  const info = await showInfo(admin.path);
  return {
    rounds,
    resumedShare: rounds.reduce((a, b) => a + b, 0) / (rounds.length * CLIENTS),
    floodHandshakes: floodResult.full,
    evictions: Number(info.SslCacheEvictions),
  };
}

test(`one address flooding new sessions cannot evict ${CLIENTS} other clients with per_client_new_sessions; without it, it does`, async (t) => {
  const limited = await scenario(t, NEW_SESSIONS_PER_SECOND);
  t.diagnostic(`with limit ${NEW_SESSIONS_PER_SECOND}/s: flood ${limited.floodHandshakes} full handshakes, rounds ${JSON.stringify(limited.rounds)}, evictions ${limited.evictions}`);
  const open = await scenario(t, 0);
  t.diagnostic(`without limit: flood ${open.floodHandshakes} full handshakes, rounds ${JSON.stringify(open.rounds)}, evictions ${open.evictions}`);

  // The flood was the same size both times and many times the cache.
  for (const o of [limited, open]) assert.ok(o.floodHandshakes > 3 * CACHE_SIZE, `flood of ${o.floodHandshakes} is too small to prove anything`);
  // With the limit: every reconnection of every client resumed; nothing was evicted.
  assert.deepEqual(limited.rounds, limited.rounds.map(() => CLIENTS));
  assert.equal(limited.evictions, 0);
  // Without it: the cache turned over and most reconnections were full handshakes.
  assert.ok(open.evictions > CACHE_SIZE, `evictions ${open.evictions}`);
  assert.ok(open.resumedShare < 0.5, `without the limit ${Math.round(open.resumedShare * 100)}% still resumed`);
});
