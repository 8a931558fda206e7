// The session cache is a DoS target: one address making new sessions as fast as it can
// would push everyone else's out. With `limits.per_client_new_sessions` its sessions
// beyond the budget are not cached, and 100 other clients (127.0.0.2-127.0.0.101, via
// Python's source_address) keep resuming; without the limit the same flood evicts them,
// which shows this test can fail.
//
// Counted, not timed, so it means the same on an idle and on a loaded machine: the
// clients make their sessions, then ROUNDS times the flooder makes CACHE_SIZE new
// sessions (enough to turn the whole cache over) and every client reconnects once. The
// budget is per second, so the flood's stored sessions grow with its duration: at
// NEW_SESSIONS_PER_SECOND the cache's spare room (CACHE_SIZE - CLIENTS) lasts
// (CACHE_SIZE - CLIENTS) / NEW_SESSIONS_PER_SECOND = 100 s of flooding, several times
// what the slowest machine seen needs. (Issue 8 says 10,000 new sessions; that size is
// for bench/, this proves the mechanism.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { httpBackend } from '../helpers/backend.ts';
import { ENGINES, type Engine } from '../helpers/engines.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';
import { adminSocket, showInfo } from './helpers/process.ts';

const CLIENTS = 100;
const CACHE_SIZE = 300;
const NEW_SESSIONS_PER_SECOND = 2;
const ROUNDS = 3;
const CLIENTS_SCRIPT = fileURLToPath(new URL('./helpers/reconnecting-clients.py', import.meta.url));
const FLOODER = fileURLToPath(new URL('./helpers/new-session-flood.ts', import.meta.url));

interface Outcome {
  /** Clients that resumed, per round of reconnections (each after a flood of CACHE_SIZE new sessions). */
  rounds: number[];
  resumedShare: number;
  floodHandshakes: number;
  evictions: number;
}

/** A child speaking one JSON line per request: `ask(line)` writes it and resolves with the answer. */
function jsonPeer (t: TestContext, command: string, args: string[], what: string): { ask (line?: string): Promise<Record<string, unknown>> } {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => { child.kill(); });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const answers: string[] = [];
  const waiting: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w.resolve(line); else answers.push(line);
  });
  child.once('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`${what} exited with ${code}: ${stderr}`));
  });
  return {
    async ask (line?: string) {
      if (line !== undefined) child.stdin.write(`${line}\n`);
      const answer = answers.shift() ?? await new Promise<string>((resolve, reject) => {
        if (child.exitCode !== null) reject(new Error(`${what} exited with ${child.exitCode}: ${stderr}`));
        else waiting.push({ resolve, reject });
      });
      return JSON.parse(answer) as Record<string, unknown>;
    },
  };
}

async function scenario (t: TestContext, engine: Engine, limit: number): Promise<Outcome> {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const admin = adminSocket(t);
  const ws = await startWarmshake(t, dir, terminateConfig({
    backendPort: backend.port, ...cert, size: CACHE_SIZE, tickets: false,
    global: { engine, admin: { socket: admin.path }, log: { level: 'info', format: 'json' } },
    frontend: { limits: { per_client_new_sessions: limit } },
  }));
  admin.cleanUpAfterStop();
  // The native engine keeps the budget itself (c/clients.c): the frontend must not fall back.
  await ws.waitForLog((l) => l.msg.startsWith('engine: ') && l.engine === engine);
  assert.deepEqual(ws.logs.filter((l) => /runs on engine node/.test(l.msg)).map((l) => l.msg), []);
  const port = ws.ports.https;

  const clients = jsonPeer(t, 'python3', [CLIENTS_SCRIPT, String(port), '127.0.0.2', String(CLIENTS)], 'reconnecting clients');
  assert.deepEqual(await clients.ask(), { ready: CLIENTS });
  // One address (127.0.0.1), full handshakes only, every one a new session to store.
  const flooder = jsonPeer(t, process.execPath, ['--disable-warning=ExperimentalWarning', FLOODER, String(port), '8', '127.0.0.1'], 'flooder');
  const rounds: number[] = [];
  let floodHandshakes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const flood = await flooder.ask(String(CACHE_SIZE));
    assert.equal(flood.full, CACHE_SIZE, `flood round ${r}: ${JSON.stringify(flood)}`);
    floodHandshakes += flood.full as number;
    const round = await clients.ask('round');
    assert.equal(round.errors, 0, `reconnecting clients saw errors: ${JSON.stringify(round)}`);
    rounds.push(round.resumed as number);
  }
  const info = await showInfo(admin.path);
  return {
    rounds,
    resumedShare: rounds.reduce((a, b) => a + b, 0) / (rounds.length * CLIENTS),
    floodHandshakes,
    evictions: Number(info.SslCacheEvictions),
  };
}

for (const engine of ENGINES) test(`[${engine}] one address flooding new sessions cannot evict ${CLIENTS} other clients with per_client_new_sessions; without it, it does`, async (t) => {
  const limited = await scenario(t, engine, NEW_SESSIONS_PER_SECOND);
  t.diagnostic(`with limit ${NEW_SESSIONS_PER_SECOND}/s: flood ${limited.floodHandshakes} full handshakes, rounds ${JSON.stringify(limited.rounds)}, evictions ${limited.evictions}`);
  const open = await scenario(t, engine, 0);
  t.diagnostic(`without limit: flood ${open.floodHandshakes} full handshakes, rounds ${JSON.stringify(open.rounds)}, evictions ${open.evictions}`);

  // With the limit: every reconnection of every client resumed; nothing was evicted.
  assert.deepEqual(limited.rounds, limited.rounds.map(() => CLIENTS));
  assert.equal(limited.evictions, 0);
  // Without it: the cache turned over and most reconnections were full handshakes.
  assert.ok(open.evictions > CACHE_SIZE, `evictions ${open.evictions}`);
  assert.ok(open.resumedShare < 0.5, `without the limit ${Math.round(open.resumedShare * 100)}% still resumed`);
});
