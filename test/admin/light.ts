// The admin side on the real shared structures (counters, shared-memory cache, ticket
// ring, rotation) without worker threads: fast, and the counters are set by hand.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { AdminContext } from '../../src/admin/context.ts';
import { Monitor } from '../../src/admin/monitor.ts';
import type { AdminSource } from '../../src/admin/source.ts';
import { deepFreeze } from '../../src/config/load.ts';
import { validateConfig } from '../../src/config/schema.ts';
import type { Config } from '../../src/config/types.ts';
import { SharedCounters } from '../../src/runtime/counters.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { TicketRotation } from '../../src/runtime/ticket-rotation.ts';
import { SharedMemoryStore } from '../../src/session-cache/shared-memory-store.ts';
import { SharedTicketKeys } from '../../src/tls/shared-ticket-keys.ts';
import { tempDir } from '../helpers/certs.ts';

export interface Light {
  ctx: AdminContext;
  source: AdminSource & { counters: SharedCounters; store: SharedMemoryStore; keys: SharedTicketKeys; tables: Map<string, SharedMemoryStore> };
  dir: string;
}

export async function lightContext (t: TestContext, raw: Record<string, unknown> = {}): Promise<Light> {
  const dir = tempDir(t, 'warmshake-admin-light-');
  const { config, errors } = validateConfig({
    global: { workers: 2, admin: { socket: join(dir, 'admin.sock') } },
    frontends: [{ name: 'https', bind: '127.0.0.1:8443', certificates: [{ cert: 'c.pem', key: 'k.pem' }], backend: 'app' }],
    backends: [{ name: 'app', servers: [{ name: 's1', address: '127.0.0.1:8080' }, { name: 's2', address: '127.0.0.1:8081' }] }],
    ...raw,
  }, dir, 'test');
  if (!config) throw new Error(errors.join('\n'));
  const frozen: Config = deepFreeze(config);
  const log = createLogger({ level: 'fatal', format: 'json' });
  const keys = SharedTicketKeys.create(frozen.tickets.keep + 1);
  // Local keys even when the config names a Redis tier: these tests start no Redis.
  const rotation = new TicketRotation(keys, { ...frozen, session_cache: { ...frozen.session_cache, redis: undefined } }, log);
  await rotation.start();
  t.after(() => rotation.stop());
  const source = {
    config: frozen,
    store: SharedMemoryStore.create({ size: 100, lifetime: 60_000, maxEntryBytes: 2048, maxKeyBytes: 64 }),
    keys,
    counters: SharedCounters.create(),
    rotation,
    started: Date.now(),
    tables: new Map<string, SharedMemoryStore>(),
    workers: () => [{ index: 0, threadId: 1, state: 'running', uptime: 1000, restarts: 0 }, { index: 1, threadId: 2, state: 'running', uptime: 1000, restarts: 1 }],
  };
  const monitor = new Monitor(source, log);
  return { ctx: { source, monitor, log }, source, dir };
}
