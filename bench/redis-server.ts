// A real redis-server for the tests and the bench, on a loopback port, stopped in
// `t.after` (tests) or by `stop()` (bench). Redis has no
// `--port 0`, so it goes through `onFreshPort`: started on a port the kernel just named,
// and started again on another if it reports "Address already in use". Readiness is
// Redis's own word ("Running mode=..., port=N." comes once it has bound) and then a
// PING, so a Redis of another test on the same port can never be mistaken for ours.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { which } from './which.ts';
import { onFreshPort, probePort, START_GUARD_MS } from './ports.ts';

export interface RedisHandle {
  port: number;
  url: string;
  /** Stops the server for good (SIGCONT first if paused). */
  stop (): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  pause (): void;
  /** SIGCONT. */
  resume (): void;
  /** SIGKILL, waits for the exit. */
  kill (): Promise<void>;
  /** Starts it again on the same port (after `kill`), empty. */
  restart (): Promise<void>;
}

/**
 * The bench's reason to leave the Redis rows out, or false when redis-server and
 * redis-cli are on PATH. Tests ask test/helpers/missing-peers.ts instead; a test that
 * asks here anyway still cannot hide the absence from CI: with
 * WARMSHAKE_REQUIRE_PEERS=1 it throws.
 */
export function redisSkipReason (): string | false {
  if (which('redis-server') && which('redis-cli')) return false;
  const reason = 'redis-server/redis-cli not on PATH (apt-get install redis-server redis-tools)';
  if (process.env.WARMSHAKE_REQUIRE_PEERS === '1') throw new Error(`WARMSHAKE_REQUIRE_PEERS=1 and ${reason}`);
  return reason;
}

/** Resolves when the server answers PING, rejects after `ms`. */
export async function waitForPing (port: number, ms = START_GUARD_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis on port ${port} did not answer PING within ${ms} ms`);
}

function ping (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let data = '';
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok); };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<void>;
}

function spawnRedis (port: number, dir: string, extra: string[]): Spawned {
  return spawnArgs([
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--loglevel', 'notice', ...extra,
  ]);
}

function spawnArgs (args: string[]): Spawned {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited };
}

/**
 * Resolves true once this process has bound its port and answers PING, false when it
 * could not bind (the port was taken: try another); throws on any other failure.
 */
async function bound (spawned: Spawned, port: number): Promise<boolean> {
  let out = '';
  const listening = new Promise<boolean>((resolve) => {
    spawned.child.stdout!.on('data', (c: Buffer) => {
      if (out.length < 16_384) out += c.toString();
      if (/Running mode=\w+, port=\d+/.test(out)) resolve(true);
    });
    void spawned.exited.then(() => resolve(false));
  });
  if (await listening && spawned.child.exitCode === null) {
    await waitForPing(port);
    return true;
  }
  await spawned.exited;
  if (/Address already in use/.test(out)) return false;
  throw new Error(`redis-server exited with ${String(spawned.child.exitCode)} on port ${port}: ${out.slice(-2000)}`);
}

/** Spawns redis-server and waits until it serves: on `port` (a restart: fails if taken), or on a fresh port. */
async function launch (port: number | undefined, dir: string, extra: string[]): Promise<{ port: number; spawned: Spawned }> {
  const start = async (p: number): Promise<{ port: number; spawned: Spawned } | undefined> => {
    const spawned = spawnRedis(p, dir, extra);
    try {
      return await bound(spawned, p) ? { port: p, spawned } : undefined;
    } catch (err) {
      spawned.child.kill('SIGKILL');
      throw err;
    }
  };
  if (port === undefined) return onFreshPort('redis-server', start);
  const again = await start(port);
  if (!again) throw new Error(`redis-server could not bind port ${port} again: another process took it`);
  return again;
}

export async function startRedis (t?: TestContext, extra: string[] = []): Promise<RedisHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'warmshake-redis-'));
  let { port, spawned } = await launch(undefined, dir, extra);
  let paused = false;
  let stopped = false;
  const kill = async (): Promise<void> => {
    if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    paused = false;
  };
  const handle: RedisHandle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    pause () { spawned.child.kill('SIGSTOP'); paused = true; },
    resume () { spawned.child.kill('SIGCONT'); paused = false; },
    kill,
    async restart () {
      await kill();
      ({ spawned } = await launch(port, dir, extra));
    },
    async stop () {
      if (stopped) return;
      stopped = true;
      if (paused) spawned.child.kill('SIGCONT');
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  t?.after(() => handle.stop());
  return handle;
}

export interface RedisClusterHandle {
  ports: number[];
  urls: string[];
  stop (): Promise<void>;
  /** SIGKILL of the node on `port` (a failover test kills a master). */
  kill (port: number): Promise<void>;
}

/**
 * Three masters, with `replicas` replicas each (0: none); each node needs a free port and
 * a free cluster bus port (port + 10000).
 */
export async function startRedisCluster (t?: TestContext, replicas = 0): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'warmshake-redis-cluster-'));
  const nodes: { port: number; spawned: Spawned }[] = [];
  const stop = async (): Promise<void> => {
    for (const n of nodes) n.spawned.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.spawned.exited));
    rmSync(dir, { recursive: true, force: true });
  };
  t?.after(stop);
  for (let i = 0; i < 3 * (1 + replicas); i++) {
    // The cluster bus gets a fresh port of its own too (Redis would take port + 10000).
    nodes.push(await onFreshPort('redis-server (cluster)', async (port) => {
      const bus = await probePort();
      const spawned = spawnRedis(port, dir, ['--cluster-enabled', 'yes', '--cluster-port', String(bus), '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000']);
      return await bound(spawned, port) ? { port, spawned } : undefined;
    }));
  }
  const ports = nodes.map((n) => n.port);
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8', timeout: START_GUARD_MS });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  const deadline = Date.now() + START_GUARD_MS;
  while (!ports.every((p) => clusterOk(p))) {
    if (Date.now() > deadline) throw new Error('redis cluster did not reach cluster_state:ok');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const kill = async (port: number): Promise<void> => {
    const node = nodes.find((n) => n.port === port);
    node?.spawned.child.kill('SIGKILL');
    await node?.spawned.exited;
  };
  return { ports, urls: ports.map((p) => `redis://127.0.0.1:${p}`), stop, kill };
}

function clusterOk (port: number): boolean {
  const info = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' });
  return info.stdout.includes('cluster_state:ok');
}

export interface RedisSentinelHandle {
  port: number;
  stop (): Promise<void>;
}

/**
 * One Sentinel watching `master` under `name` with `quorum`;
 * `lines`: more lines for its config (`sentinel down-after-milliseconds NAME 1000`).
 * Sentinel rewrites its config file, so it gets its own.
 */
export async function startRedisSentinel (t: TestContext | undefined, master: RedisHandle, name: string, quorum = 1, lines: string[] = []): Promise<RedisSentinelHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'warmshake-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  const { port, spawned } = await onFreshPort('redis-server --sentinel', async (p) => {
    writeFileSync(conf, `port ${p}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${name} 127.0.0.1 ${master.port} ${quorum}\n${lines.map((l) => `${l}\n`).join('')}`);
    const s = spawnArgs([conf, '--sentinel']);
    return await bound(s, p) ? { port: p, spawned: s } : undefined;
  });
  const stop = async (): Promise<void> => {
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  t?.after(stop);
  return { port, stop };
}

