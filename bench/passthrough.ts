// Pass-through benchmark, one JSON line per result:
//  1. connections/s and latency of a TLS connection (handshake + one -www page) direct to
//     an `openssl s_server` and through warmshake's pass-through (added latency = p50
//     difference), full and resumed handshakes;
//  2. the resumption ratio behind three `openssl s_server` backends (each its own cache
//     and ticket key, balance roundrobin) through warmshake with persistence (with and
//     without the ticket-key probe), without persistence, and through HAProxy's stick-table
//     recipe when /usr/sbin/haproxy exists, for TLS 1.2 session ids, TLS 1.2 tickets and
//     TLS 1.3 tickets.
// Usage: node bench/passthrough.ts [--connections N] [--clients K] [--rounds R] [--only latency|resumption]
// The balancer runs in a child process (`--serve`), so it does not share a core's event
// loop with the load.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { BackendPool } from '../src/balancer/pool.ts';
import { Passthrough } from '../src/frontend/passthrough.ts';
import { validateConfig } from '../src/config/schema.ts';
import { SharedMemoryStore } from '../src/session-cache/shared-memory-store.ts';
import { generateSelfSigned } from '../src/certs/self-signed.ts';
import { freePort } from './ports.ts';

const SELF = fileURLToPath(import.meta.url);
const HAPROXY = '/usr/sbin/haproxy';

type Version = '1.2' | '1.3';

function emit (row: object): void {
  console.log(JSON.stringify({ bench: 'passthrough', ...row }));
}


async function waitForPort (port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** `openssl s_server -www` on a free port; waits for its ACCEPT line. */
async function sServer (cert: string, key: string, args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('openssl', ['s_server', '-www', '-quiet', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', key, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.resume();
  child.stderr!.resume();
  await waitForPort(port, child);
  return { port, child };
}

/** warmshake's Passthrough in a child process; resolves once it listens. */
async function warmshake (ports: number[], persist: boolean, probe: boolean): Promise<{ port: number; child: ChildProcess }> {
  const spec = JSON.stringify({ ports, persist, probe });
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', SELF, '--serve', spec], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  for (let i = 0; i < 400 && !/^\d+\n/.test(out); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  const port = Number(out.trim().split('\n')[0]);
  if (!(port > 0)) throw new Error(`warmshake child did not start: ${out}`);
  // The probe runs at listen; give it its round before the first client.
  if (probe) await new Promise((resolve) => setTimeout(resolve, 300));
  return { port, child };
}

/** HAProxy with the stick-table recipe of its documentation (session id at offset 43). */
async function haproxy (dir: string, ports: number[]): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const file = join(dir, `haproxy-${port}.cfg`);
  writeFileSync(file, [
    'global', '  maxconn 2000',
    'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 30s', '  timeout server 30s',
    // Without the inspect delays (frontend and response) HAProxy 2.6 evaluates the stick
    // rules before the hellos are in and the recipe silently balances round-robin.
    'frontend fe', `  bind 127.0.0.1:${port}`, '  tcp-request inspect-delay 5s',
    '  tcp-request content accept if { req.ssl_hello_type 1 }', '  default_backend be',
    'backend be', '  balance roundrobin',
    '  stick-table type binary len 32 size 30k expire 30m',
    '  acl clienthello req.ssl_hello_type 1', '  acl serverhello res.ssl_hello_type 2',
    '  tcp-request inspect-delay 5s', '  tcp-request content accept if clienthello',
    '  tcp-response inspect-delay 5s', '  tcp-response content accept if serverhello',
    '  stick on req.payload_lv(43,1) if clienthello',
    '  stick store-response res.payload_lv(43,1) if serverhello',
    ...ports.map((p, i) => `  server s${i + 1} 127.0.0.1:${p}`), '',
  ].join('\n'));
  const child = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume();
  await waitForPort(port, child);
  return { port, child };
}

interface Connection { ms: number; resumed: boolean; session: Buffer | undefined }

/** One connection: TLS handshake, GET, the page to the end. */
function connectOnce (port: number, version: Version, session: Buffer | undefined): Promise<Connection> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const v = version === '1.2' ? 'TLSv1.2' : 'TLSv1.3';
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: v, maxVersion: v, session });
    let latest: Buffer | undefined;
    let resumed = false;
    s.on('session', (d: Buffer) => { latest = d; });
    s.once('error', reject);
    // Asked now: after the close the answer is gone (null).
    s.once('secureConnect', () => { resumed = s.isSessionReused(); s.end('GET / HTTP/1.0\r\n\r\n'); });
    s.resume();
    s.once('close', () => resolve({ ms: performance.now() - started, resumed, session: latest ?? session }));
  });
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const round = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;

interface Series { times: number[]; hits: number; session: Buffer | undefined; elapsed: number }

/**
 * `n` connections on each path, one at a time, alternating direct and through the
 * balancer so that drift on a shared machine (other processes, CPU frequency) hits both.
 */
async function latency (paths: Array<[string, number]>, version: Version, resumed: boolean, n: number): Promise<void> {
  const series: Series[] = paths.map(() => ({ times: [], hits: 0, session: undefined, elapsed: 0 }));
  for (let i = 0; i < n + 20; i++) {
    for (const [k, [, port]] of paths.entries()) {
      const s = series[k];
      const c = await connectOnce(port, version, resumed ? s.session : undefined);
      if (resumed) s.session = c.session;
      if (i < 20) continue; // warm-up (JIT, the first session)
      s.times.push(c.ms);
      s.elapsed += c.ms;
      if (c.resumed) s.hits++;
    }
  }
  const p50s: number[] = [];
  for (const [k, [path]] of paths.entries()) {
    const { times, hits, elapsed } = series[k];
    times.sort((a, b) => a - b);
    p50s.push(pct(times, 0.5));
    emit({
      scenario: 'latency', path, tls: version, handshake: resumed ? 'resumed' : 'full', connections: n,
      connectionsPerSecond: round((1000 * n) / elapsed, 1), p50Ms: round(pct(times, 0.5)), p90Ms: round(pct(times, 0.9)),
      p99Ms: round(pct(times, 0.99)), resumedPct: round((100 * hits) / n, 1),
    });
  }
  emit({ scenario: 'added-latency', tls: version, handshake: resumed ? 'resumed' : 'full', addedP50Ms: round(p50s[1] - p50s[0]) });
}

/** A small seeded PRNG (mulberry32): every balancer sees the same client order. */
function shuffled (n: number, seed: number): number[] {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** K clients, R rounds each (the first full), in a shuffled order each round, as independent clients arrive. */
async function resumption (balancer: string, port: number, version: Version, scenario: string, clients: number, rounds: number): Promise<void> {
  const sessions: Array<Buffer | undefined> = Array(clients).fill(undefined);
  let attempts = 0;
  let resumed = 0;
  for (let r = 0; r < rounds; r++) {
    for (const i of shuffled(clients, 1000 + r)) {
      const c = await connectOnce(port, version, sessions[i]);
      if (r > 0) { attempts++; if (c.resumed) resumed++; }
      sessions[i] = c.session;
    }
  }
  emit({ scenario: 'resumption', backends: scenario, tls: version, balancer, attempts, resumed, ratio: round(resumed / attempts) });
}

/** 1. Added latency: one backend, one connection at a time, direct and through pass-through. */
async function latencyPhase (certFile: string, keyFile: string, n: number, children: ChildProcess[]): Promise<void> {
  const single = await sServer(certFile, keyFile, []);
  children.push(single.child);
  const through = await warmshake([single.port], true, false);
  children.push(through.child);
  for (const version of ['1.2', '1.3'] as const) {
    for (const resumed of [false, true]) {
      await latency([['direct', single.port], ['warmshake-passthrough', through.port]], version, resumed, n);
    }
  }
  await stop(through.child);
  await stop(single.child);
}

async function main (argv: string[]): Promise<void> {
  const arg = (name: string, fallback: number): number => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const n = arg('--connections', 500);
  const clients = arg('--clients', 31);
  const rounds = arg('--rounds', 4);
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'warmshake-bench-pt-'));
  const children: ChildProcess[] = [];
  try {
    const { cert, key } = generateSelfSigned({ names: ['localhost'] });
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    writeFileSync(certFile, cert);
    writeFileSync(keyFile, key, { mode: 0o600 });
    emit({ scenario: 'environment', node: process.version, openssl: spawnSync('openssl', ['version']).stdout.toString().trim(), haproxy: existsSync(HAPROXY) });

    if (only !== 'resumption') await latencyPhase(certFile, keyFile, n, children);
    if (only === 'latency') return;

    // 2. Resumption ratio behind three backends.
    const cases: Array<{ scenario: string; version: Version; args: string[] }> = [
      { scenario: 'tls12-session-ids', version: '1.2', args: ['-no_ticket'] },
      { scenario: 'tls12-tickets', version: '1.2', args: [] },
      { scenario: 'tls13-tickets', version: '1.3', args: [] },
      { scenario: 'tls13-stateful', version: '1.3', args: ['-no_ticket'] },
    ];
    for (const c of cases) {
      const servers = await Promise.all([0, 1, 2].map(() => sServer(certFile, keyFile, c.args)));
      children.push(...servers.map((s) => s.child));
      const ports = servers.map((s) => s.port);
      const balancers: Array<[string, () => Promise<{ port: number; child: ChildProcess }>]> = [
        ['warmshake-persist', () => warmshake(ports, true, true)],
        ['warmshake-persist-no-probe', () => warmshake(ports, true, false)],
        ['warmshake-no-persist', () => warmshake(ports, false, false)],
      ];
      if (existsSync(HAPROXY)) balancers.push(['haproxy-stick-table', () => haproxy(dir, ports)]);
      for (const [name, start] of balancers) {
        const b = await start();
        children.push(b.child);
        await resumption(name, b.port, c.version, c.scenario, clients, rounds);
        await stop(b.child);
      }
      await Promise.all(servers.map((s) => stop(s.child)));
    }
  } finally {
    await Promise.all(children.map(stop));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The balancer side: a Passthrough with a shared-memory stick table, as one worker runs it. */
async function serve (spec: { ports: number[]; persist: boolean; probe: boolean }): Promise<void> {
  const { config, errors } = validateConfig({
    global: { workers: 1 },
    frontends: [{
      name: 'bench', bind: '127.0.0.1:0', mode: 'passthrough', backend: 'app',
      ...(spec.persist ? { persist: { size: 100_000, expire: '30m', probe_every: spec.probe ? '60s' : 0 } } : {}),
    }],
    backends: [{ name: 'app', balance: 'roundrobin', servers: spec.ports.map((p, i) => ({ name: `s${i + 1}`, address: `127.0.0.1:${p}` })) }],
  }, '/', 'bench');
  if (!config) throw new Error(errors.join('\n'));
  const f = config.frontends[0];
  const pools = new Map(config.backends.map((b) => [b.name, new BackendPool(b)]));
  const table = f.persist ? SharedMemoryStore.create({ size: f.persist.size, lifetime: f.persist.expire, maxEntryBytes: 64, maxKeyBytes: 64 }) : undefined;
  const passthrough = new Passthrough({ frontend: f, pools, table });
  const port = await passthrough.listen();
  process.stdout.write(`${port}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) await serve(JSON.parse(process.argv[serveAt + 1]) as { ports: number[]; persist: boolean; probe: boolean });
else await main(process.argv.slice(2));
