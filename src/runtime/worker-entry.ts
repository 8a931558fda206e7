// A worker thread: serves every frontend of the config on ports it shares with the
// other workers (the process's listening descriptors: the native engine's threads watch
// them, engine node's servers a dup() each; without the addon, one SO_REUSEPORT socket
// per worker); the session cache, ticket keys and counters are shared
// memory handed over by the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { BackendTls } from '../balancer/backend-tls.ts';
import { createStore, redisTiersReady } from '../session-cache/create-store.ts';
import { TieredStore } from '../session-cache/tiered-store.ts';
import { SharedTicketKeys } from '../tls/shared-ticket-keys.ts';
import { loadAddon } from '../native/addon.ts';
import { chooseEngine } from '../native/choice.ts';
import { SharedCounters } from './counters.ts';
import { buildFrontends, closeAll, listenAll } from './frontends.ts';
import { createLogger, endLog, openSyslog } from './logger.ts';
import { channels, type ConnectionErrorEvent } from '../diagnostics.ts';
import { observe } from './observe.ts';
import { FloodWatch } from './after-flood.ts';
import { every } from '../beat.ts';
import { redisTierMetrics } from './redis-metrics.ts';
import type { FromWorker, ToWorker, WorkerInit } from './shared-state.ts';
import { threadSessionStore, threadStickTable } from './stores.ts';
import { counterFamily } from './worker-stats.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const syslog = openSyslog(init.config.global.log);
const log = createLogger(init.config.global.log, { worker: init.index }, syslog);
const counters = SharedCounters.attach(init.shared.counters);
observe(counters, log);
const store = threadSessionStore(init.config, init.shared.store, log, init.config.session_cache.redis ? redisTierMetrics(counters, init.index) : undefined);
const tables = new Map(init.config.frontends.filter((f) => init.shared.tables[f.name])
  .map((f) => [f.name, threadStickTable(init.config, f, init.shared.tables[f.name], log)]));
const backendTls = init.shared.backendSessions
  ? new BackendTls({ store: createStore(init.shared.backendSessions), lifetime: init.config.session_cache.lifetime })
  : undefined;
const keys = SharedTicketKeys.attach(init.shared.keys);
const choice = chooseEngine(init.config);
const addon = loadAddon();
const native = choice.engine === 'native' && addon.ok
  ? { addon: addon.addon, frontends: choice.native, store: createStore(init.shared.store), keys, counters, worker: init.index, listeners: init.listeners, tier: store instanceof TieredStore ? store : undefined, log }
  : undefined;
const set = buildFrontends(init.config, { store, keys, tables, first: init.index === 0, backendTls, native });
const send = (message: FromWorker): void => port.postMessage(message);

const backendConnections = counterFamily(counters, 'serverConnections');
const backendErrors = counterFamily(counters, 'serverErrors');

// Each thread checks its own servers: its up/down state also follows the connects that
// failed in this thread, and only its own checks can bring such a server back. The main
// thread aggregates the threads' views (server-states.ts).
for (const pool of set.pools.values()) {
  for (const server of pool.servers()) send({ type: 'server', backend: pool.name, server: server.config.name, up: server.up, at: Date.now() });
  pool.on('state', ({ backend, server, up, reason }) => {
    send({ type: 'server', backend, server: server.config.name, up, reason, at: Date.now() });
    log.warn({ backend, server: server.config.name, up, reason }, `server ${backend}/${server.config.name} is ${up ? 'UP' : 'DOWN'}: ${reason}`);
  });
  pool.on('attempt', ({ backend, server, ok }) => (ok ? backendConnections : backendErrors).add([backend, server.config.name]));
  // Resets and silences of established connections (the request was retried elsewhere when nothing had been answered yet).
  pool.on('failure', ({ backend, server, failure }) => {
    backendErrors.add([backend, server.config.name]);
    if (log.isLevelEnabled('debug')) log.debug({ backend, server: server.config.name, failure }, `server ${backend}/${server.config.name} failed a connection: ${failure}`);
  });
  pool.startHealthChecks();
}

// Open connections per frontend and thread, for `show info` (CurrConns) and /metrics.
const openConnections = counterFamily(counters, 'connections');
const thread = String(init.index);
// What each frontend's gauge was last set to: a quiet second writes nothing (and builds no label array).
const lastConnections = new Map<string, number>();
const connections = (f: { frontend: { name: string }; connections: number }, n = f.connections): number => {
  if (lastConnections.get(f.frontend.name) !== n) {
    lastConnections.set(f.frontend.name, n);
    openConnections.set([f.frontend.name, thread], n);
  }
  return n;
};
// After a flood (many connections, then few), one full collection frees the native memory of the dead ones.
const flood = new FloodWatch();
// On the thread's beat (beat.ts): with the native engine's counter sum, one wake-up.
const stopGauges = every(1000, () => {
  let open = 0;
  for (const f of set.frontends) open += connections(f);
  if (flood.sample(open)) log.info('connections fell after a flood: memory of the closed ones released');
});

const sockets = addon.ok ? { fds: init.listeners, dup: (fd: number, keepaliveMs: number) => addon.addon.listenerDup(fd, keepaliveMs) } : undefined;
redisTiersReady().then(() => listenAll(set, sockets)).then((ports) => send({ type: 'ready', ports }), (err: Error) => {
  log.error({ err: err.message }, 'worker could not start its frontends');
  send({ type: 'failed', message: err.message });
});

/** Counts the connections the frontends cut at the drain deadline (stage `shutdown`). */
function countCuts (): { stop (): number } {
  let n = 0;
  const onError = (m: unknown): void => { if ((m as ConnectionErrorEvent).stage === 'shutdown') n++; };
  channels.connectionError.subscribe(onError);
  return { stop: () => { channels.connectionError.unsubscribe(onError); return n; } };
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'stop') {
    // The gauges keep going while connections drain, so `show info` shows the drain.
    const cut = countCuts();
    closeAll(set, message.drain).then(async () => {
      stopGauges();
      set.frontends.forEach((f) => connections(f, 0));
      const n = cut.stop();
      if (n > 0) log.warn({ cut: n, shutdownTimeout: message.drain }, `${n} connections still open after shutdown_timeout (${message.drain} ms) were cut`);
      await store.close();
      for (const table of tables.values()) await table.close();
      // The thread ends once `stopped` arrives: its last lines must be out first.
      await endLog(log);
      syslog?.close();
      send({ type: 'stopped' });
    });
  } else if (message.type === 'panic') {
    setImmediate(() => { throw new Error(`panic requested for worker ${init.index}`); });
  }
});
