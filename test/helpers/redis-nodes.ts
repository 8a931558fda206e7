// Several warmshake nodes (real processes) sharing one Redis tier, each with its own
// admin socket and admin HTTP endpoint: on a redis-server of their own, or on a Sentinel
// set or Cluster the test started.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { generateCacheKey } from '../../src/redis/seal.ts';
import { httpBackend } from './backend.ts';
import { tempDir, writeCert } from './certs.ts';
import { startRedis, type RedisHandle } from '../../bench/redis-server.ts';
import type { Engine } from './engines.ts';
import { startWarmshake, terminateConfig, type Running } from './warmshake.ts';

export interface Fleet {
  nodes: Running[];
  /** Admin socket of each node. */
  sockets: string[];
  /** Admin HTTP base URL of each node (`http://127.0.0.1:PORT`). */
  http: string[];
  dir: string;
}

export interface Cluster extends Fleet { redis: RedisHandle }

/** `count` nodes of one worker each on the tier `tier` (`{ url }`, `{ sentinels, name }` or `{ cluster }`, plus any other `session_cache.redis` key). */
export async function redisFleet (t: TestContext, count: number, tickets: boolean, tier: Record<string, unknown>, engine?: Engine): Promise<Fleet> {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const keyFile = join(dir, 'cache.key');
  writeFileSync(keyFile, generateCacheKey(), { mode: 0o600 });
  const nodes: Running[] = [];
  const sockets: string[] = [];
  const http: string[] = [];
  for (let i = 0; i < count; i++) {
    const socket = join(dir, `admin${i}.sock`);
    sockets.push(socket);
    const node = await startWarmshake(t, dir, terminateConfig({
      backendPort: backend.port, ...cert, tickets, engine,
      global: { admin: { socket, http: '127.0.0.1:0' } },
      // A generous Redis deadline: on a busy machine a 50 ms one times out healthy calls.
      session_cache: { redis: { key_file: keyFile, timeout: '1s', breaker_backoff: '500ms', ...tier } },
    }), `node${i}.yaml`);
    nodes.push(node);
    // A native run is native all the way: the frontend did not fall back to engine node.
    if (engine) await node.waitForLog((l) => l.msg.startsWith('engine: ') && l.engine === engine);
    if (engine === 'native' && node.logs.some((l) => /runs on engine node/.test(l.msg))) throw new Error(`node ${i}: the frontend fell back to engine node`);
    const listening = await node.waitForLog((l) => l.msg === 'admin http listening');
    http.push(`http://${String(listening.address)}`);
  }
  return { nodes, sockets, http, dir };
}

/** `count` nodes of one worker each on one new redis-server; `extra` goes into `session_cache.redis`. */
export async function redisCluster (t: TestContext, count: number, tickets: boolean, extra: Record<string, unknown> = {}, engine?: Engine): Promise<Cluster> {
  const redis = await startRedis(t);
  return { redis, ...await redisFleet(t, count, tickets, { url: redis.url, ...extra }, engine) };
}
