// Several warmshake nodes (real processes) sharing one Redis tier, as a fleet runs them:
// one terminating frontend each, one backend, one Redis tier (a redis-server of their
// own, or a Sentinel set or Cluster the test started).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { generateCacheKey } from '../../src/redis/seal.ts';
import { httpBackend } from './backend.ts';
import { tempDir, writeCert } from './certs.ts';
import { freePort } from '../../bench/ports.ts';
import { startRedis, type RedisHandle } from '../../bench/redis-server.ts';
import { startWarmshake, terminateConfig, type Running } from './warmshake.ts';

export interface Fleet { nodes: Running[]; sockets: string[]; dir: string }
export interface Nodes extends Fleet { redis: RedisHandle }

/** `count` nodes on the Redis tier `tier` (`{ url }`, `{ sentinels, name }` or `{ cluster }`, plus any other key). */
export async function startFleet (t: TestContext, count: number, tickets: boolean, tier: Record<string, unknown>): Promise<Fleet> {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const keyFile = join(dir, 'cache.key');
  writeFileSync(keyFile, generateCacheKey(), { mode: 0o600 });
  const nodes: Running[] = [];
  const sockets: string[] = [];
  for (let i = 0; i < count; i++) {
    const socket = join(dir, `admin${i}.sock`);
    sockets.push(socket);
    nodes.push(await startWarmshake(t, dir, terminateConfig({
      port: await freePort(), backendPort: backend.port, ...cert, tickets,
      global: { admin: { socket } },
      session_cache: { redis: { key_file: keyFile, timeout: '50ms', breaker_backoff: '500ms', ...tier } },
    }), `node${i}.yaml`));
  }
  return { nodes, sockets, dir };
}

/** `count` nodes on one new redis-server; `extra` goes into each node's `session_cache.redis`. */
export async function startNodes (t: TestContext, count: number, tickets: boolean, extra: Record<string, unknown> = {}): Promise<Nodes> {
  const redis = await startRedis(t);
  return { redis, ...await startFleet(t, count, tickets, { url: redis.url, ...extra }) };
}
