// Builds the ioredis client for the Redis tier (standalone, Sentinel or Cluster) tuned to
// fail fast: a session cache that queues commands while Redis is away would hold
// handshakes hostage, so nothing is queued offline, nothing is retried, connecting is
// given little time, and reconnection backs off on its own while the breaker keeps
// traffic away.
import { Cluster, Redis } from 'ioredis';
import type { ClusterNode, RedisOptions } from 'ioredis';
export type RedisClient = Redis | Cluster;

/** Where Redis is: exactly one of a standalone `url`, `sentinels` with the master's `name`, or `cluster` node URLs. */
export interface RedisTarget {
  url?: string;
  sentinels?: ReadonlyArray<{ host: string; port: number }>;
  name?: string;
  cluster?: readonly string[];
}

export interface RedisClientOptions {
  /** Milliseconds to establish a connection before it counts as failed. */
  connectTimeout: number;
  /** First reconnection delay in ms; doubles on each attempt up to `maxReconnectDelay`. */
  minReconnectDelay: number;
  maxReconnectDelay: number;
  /** Shown in `CLIENT LIST`, to tell warmshake's connections apart. */
  connectionName: string;
  /** Connection errors (ioredis emits them on every failed reconnect); the default drops them, the breaker reports state. */
  onError: (err: Error) => void;
}

export const DEFAULT_REDIS_CLIENT_OPTIONS: RedisClientOptions = Object.freeze({
  connectTimeout: 1000,
  minReconnectDelay: 50,
  maxReconnectDelay: 2000,
  connectionName: 'warmshake',
  onError: () => {},
});

export function reconnectDelay (attempt: number, options: Pick<RedisClientOptions, 'minReconnectDelay' | 'maxReconnectDelay'>): number {
  const exp = options.minReconnectDelay * 2 ** Math.min(Math.max(attempt - 1, 0), 16);
  // Jitter, so that many nodes losing the same Redis do not reconnect in lockstep.
  return Math.min(options.maxReconnectDelay, exp) * (0.8 + Math.random() * 0.4);
}

/** Connects (in the background) to the Redis that `config` names. */
export function createRedisClient (config: RedisTarget, options: Partial<RedisClientOptions> = {}): RedisClient {
  const o = { ...DEFAULT_REDIS_CLIENT_OPTIONS, ...options };
  const retry = (attempt: number): number => reconnectDelay(attempt, o);
  const common: RedisOptions = {
    connectTimeout: o.connectTimeout,
    connectionName: o.connectionName,
    enableOfflineQueue: false,
    // A command lost with its connection fails at once instead of being replayed later.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: retry,
  };
  let client: RedisClient;
  if (config.cluster) {
    const { retryStrategy: _retry, enableOfflineQueue: _queue, ...redisOptions } = common;
    client = new Cluster(config.cluster.map(clusterNode), {
      enableOfflineQueue: false,
      clusterRetryStrategy: retry,
      // Redirections are followed (a moved slot is not an outage) but not waited on long.
      maxRedirections: 4,
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      slotsRefreshTimeout: o.connectTimeout,
      redisOptions: { ...redisOptions, ...clusterAuth(config.cluster[0]) },
    });
  } else if (config.sentinels) {
    client = new Redis({
      ...common,
      sentinels: config.sentinels.map(({ host, port }) => ({ host, port })),
      name: config.name,
      sentinelRetryStrategy: retry,
    });
  } else if (config.url) {
    client = new Redis(config.url, common);
  } else {
    throw new TypeError('a Redis target needs one of url, sentinels (with name) or cluster');
  }
  client.on('error', o.onError);
  return client;
}

/** The masters to walk for a keyspace scan: one node for standalone/Sentinel, every master for Cluster. */
export function scanTargets (client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Credentials and TLS for every cluster node, from the first URL (ioredis takes them once for all nodes). */
function clusterAuth (url: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function clusterNode (url: string): ClusterNode {
  const u = new URL(url);
  return { host: u.hostname, port: u.port === '' ? 6379 : Number(u.port) };
}

/**
 * Resolves true once the client is ready, false after `ms`. Called before traffic so
 * that the first handshakes do not count a connection still being set up as failures.
 */
export function waitReady (client: RedisClient, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(client.status === 'ready'), ms);
    timer.unref();
    client.on('ready', onReady);
  });
}
