// A real redis-server for the tests and the bench, on a free loopback port, stopped in
// `t.after` (tests) or by `stop()` (bench). Redis needs a concrete port (it has no `--port 0`), so a free one is found by binding port 0
// and closing it; if another process takes it first, redis exits and we try another.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { freePort } from './ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

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

let available: string | false | undefined;

/** A reason to skip the Redis tests, or false when `redis-server` and `redis-cli` can run. */
export function redisSkipReason (): string | false {
  if (available === undefined) {
    const server = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    const cli = spawnSync('redis-cli', ['--version'], { encoding: 'utf8' });
    available = server.status === 0 && cli.status === 0 ? false : 'redis-server/redis-cli not installed (apt-get install redis-server); Redis tests skipped';
    if (available) console.log(`# ${available}`);
  }
  return available;
}

export { freePort };

/** Resolves when the server answers PING, rejects after `ms`. */
export async function waitForPing (port: number, ms = 5000): Promise<void> {
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
    '--dir', dir, '--loglevel', 'warning', ...extra,
  ]);
}

function spawnArgs (args: string[]): Spawned {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.resume();
  child.stderr?.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited };
}

/** Spawns redis-server on `port` (or a free one) and waits for PING; retries another port when it cannot bind. */
async function launch (port: number | undefined, dir: string, extra: string[]): Promise<{ port: number; spawned: Spawned }> {
  for (let attempt = 0; ; attempt++) {
    const p = port ?? await freePort();
    const spawned = spawnRedis(p, dir, extra);
    const exitedEarly = spawned.exited.then(() => false);
    const ready = await Promise.race([waitForPing(p).then(() => true, () => false), exitedEarly]);
    if (ready && spawned.child.exitCode === null) return { port: p, spawned };
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    if (port !== undefined || attempt >= 4) throw new Error(`redis-server could not start on port ${p}`);
  }
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
    for (let attempt = 0; ; attempt++) {
      const port = 20_000 + Math.floor(Math.random() * 30_000);
      if (!(await portFree(port)) || !(await portFree(port + 10_000))) continue;
      try {
        nodes.push(await launch(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000']));
        break;
      } catch (err) {
        if (attempt >= 4) throw err;
      }
    }
  }
  const ports = nodes.map((n) => n.port);
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  const deadline = Date.now() + 10_000;
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

function portFree (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
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
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${name} 127.0.0.1 ${master.port} ${quorum}\n${lines.map((l) => `${l}\n`).join('')}`);
    const spawned = spawnArgs([conf, '--sentinel']);
    const ready = await Promise.race([waitForPing(port).then(() => true, () => false), spawned.exited.then(() => false)]);
    const stop = async (): Promise<void> => {
      spawned.child.kill('SIGKILL');
      await spawned.exited;
      rmSync(dir, { recursive: true, force: true });
    };
    if (ready && spawned.child.exitCode === null) {
      t?.after(stop);
      return { port, stop };
    }
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    if (attempt >= 4) throw new Error('redis sentinel could not start');
  }
}
