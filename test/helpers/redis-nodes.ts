// Several warmshake nodes (real processes) sharing one real redis-server, each with its
// own admin socket and admin HTTP endpoint.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { generateCacheKey } from '../../src/redis/seal.ts';
import { httpBackend } from './backend.ts';
import { tempDir, writeCert } from './certs.ts';
import { startRedis, type RedisHandle } from '../../bench/redis-server.ts';
import { startWarmshake, terminateConfig, type Running } from './warmshake.ts';

export interface Cluster {
  redis: RedisHandle;
  nodes: Running[];
  /** Admin socket of each node. */
  sockets: string[];
  /** Admin HTTP base URL of each node (`http://127.0.0.1:PORT`). */
  http: string[];
  dir: string;
}

/** `count` nodes of one worker each; `extra` goes into `session_cache.redis`. */
export async function redisCluster (t: TestContext, count: number, tickets: boolean, extra: Record<string, unknown> = {}): Promise<Cluster> {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const redis = await startRedis(t);
  const keyFile = join(dir, 'cache.key');
  writeFileSync(keyFile, generateCacheKey(), { mode: 0o600 });
  const nodes: Running[] = [];
  const sockets: string[] = [];
  const http: string[] = [];
  for (let i = 0; i < count; i++) {
    const socket = join(dir, `admin${i}.sock`);
    sockets.push(socket);
    const node = await startWarmshake(t, dir, terminateConfig({
      backendPort: backend.port, ...cert, tickets,
      global: { admin: { socket, http: '127.0.0.1:0' } },
      // A generous Redis deadline: on a busy machine a 50 ms one times out healthy calls.
      session_cache: { redis: { url: redis.url, key_file: keyFile, timeout: '1s', breaker_backoff: '500ms', ...extra } },
    }), `node${i}.yaml`);
    nodes.push(node);
    const listening = await node.waitForLog((l) => l.msg === 'admin http listening');
    http.push(`http://${String(listening.address)}`);
  }
  return { redis, nodes, sockets, http, dir };
}
