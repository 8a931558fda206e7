// A worker thread: serves every frontend of the config on ports it shares with the
// other workers (SO_REUSEPORT); the session cache, ticket keys and counters are shared
// memory handed over by the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { BackendTls } from '../balancer/backend-tls.ts';
import { createStore, redisTiersReady } from '../session-cache/create-store.ts';
import { SharedTicketKeys } from '../tls/shared-ticket-keys.ts';
import { CounterFamily, metricKey, SharedCounters } from './counters.ts';
import { buildFrontends, closeAll, listenAll } from './frontends.ts';
import { createLogger, openSyslog } from './logger.ts';
import { observe } from './observe.ts';
import { FloodWatch } from './after-flood.ts';
import type { FromWorker, ToWorker, WorkerInit } from './shared-state.ts';
import { threadSessionStore, threadStickTable } from './stores.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const syslog = openSyslog(init.config.global.log);
const log = createLogger(init.config.global.log, { worker: init.index }, syslog);
const counters = SharedCounters.attach(init.shared.counters);
observe(counters, log);
const store = threadSessionStore(init.config, init.shared.store, log);
const tables = new Map(init.config.frontends.filter((f) => init.shared.tables[f.name])
  .map((f) => [f.name, threadStickTable(init.config, f, init.shared.tables[f.name], log)]));
const backendTls = init.shared.backendSessions
  ? new BackendTls({ store: createStore(init.shared.backendSessions), lifetime: init.config.session_cache.lifetime })
  : undefined;
const set = buildFrontends(init.config, { store, keys: SharedTicketKeys.attach(init.shared.keys), tables, first: init.index === 0, backendTls });
const send = (message: FromWorker): void => port.postMessage(message);

const backendConnections = new CounterFamily(counters, 'warmshake_backend_connections_total', ['backend', 'server']);
const backendErrors = new CounterFamily(counters, 'warmshake_backend_errors_total', ['backend', 'server']);

// Each thread checks its own servers: its up/down state also follows the connects that
// failed in this thread, and only its own checks can bring such a server back.
const serverUp = (backend: string, server: string, up: boolean): void =>
  counters.set(metricKey('warmshake_server_up', { backend, server }), up ? 1 : 0);
for (const pool of set.pools.values()) {
  for (const server of pool.servers()) serverUp(pool.name, server.config.name, server.up);
  pool.on('state', ({ backend, server, up, reason }) => {
    serverUp(backend, server.config.name, up);
    send({ type: 'server', backend, server: server.config.name, up, reason });
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
const connections = (f: { frontend: { name: string }; connections: number }, n = f.connections): void =>
  counters.set(metricKey('warmshake_connections_current', { frontend: f.frontend.name, worker: String(init.index) }), n);
// After a flood (many connections, then few), one full collection frees the native memory of the dead ones.
const flood = new FloodWatch();
const gauges = setInterval(() => {
  set.frontends.forEach((f) => connections(f));
  if (flood.sample(set.frontends.reduce((n, f) => n + f.connections, 0))) log.info('connections fell after a flood: memory of the closed ones released');
}, 1000);
gauges.unref();

redisTiersReady().then(() => listenAll(set)).then((ports) => send({ type: 'ready', ports }), (err: Error) => {
  log.error({ err: err.message }, 'worker could not start its frontends');
  send({ type: 'failed', message: err.message });
});

port.on('message', (message: ToWorker) => {
  if (message.type === 'stop') {
    clearInterval(gauges);
    closeAll(set, message.drain).then(async () => {
      set.frontends.forEach((f) => connections(f, 0));
      await store.close();
      for (const table of tables.values()) await table.close();
      log.flush();
      syslog?.close();
      send({ type: 'stopped' });
    });
  } else if (message.type === 'panic') {
    setImmediate(() => { throw new Error(`panic requested for worker ${init.index}`); });
  }
});
