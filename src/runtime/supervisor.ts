// The main thread: owns the shared memory (session cache, ticket keys, counters),
// starts one worker thread per core, replaces a worker that dies (with a back-off),
// reloads by replacing workers one at a time, and drains them on stop. It serves no
// client connection itself.
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/types.ts';
import { StartupError } from '../errors.ts';
import type { SharedMemoryStore } from '../session-cache/shared-memory-store.ts';
import { SharedTicketKeys } from '../tls/shared-ticket-keys.ts';
import { SharedCounters } from './counters.ts';
import { ServerStates, type AggregatedServer } from './server-states.ts';
import { ReloadRecord } from './reload-record.ts';
import type { Logger } from './logger.ts';
import type { FromWorker, ToWorker, WorkerInit } from './shared-state.ts';
import { TicketRotation } from './ticket-rotation.ts';
import { openRedisLink, type RedisLink } from './redis-link.ts';
import { watchCacheFull } from './cache-watch.ts';
import { migrateReqWarning } from './migrate-req.ts';
import { backendSessionOptions, sessionStoreOptions, stickTableOptions } from '../config/store-options.ts';
import { createStore } from '../session-cache/create-store.ts';
import { hasPortZero, pinPorts } from './pinned-ports.ts';
import type { StoreOptions } from '../session-cache/store.ts';
import { perWorkerSockets, ProcessListeners } from './listeners.ts';

const WORKER_ENTRY = new URL('./worker-entry.ts', import.meta.url);
const MAX_BACKOFF = 10_000;

interface Slot {
  index: number;
  worker: Worker;
  /** Captured at spawn: `worker.threadId` reads -1 once the thread has exited. */
  threadId: number;
  config: Config;
  state: 'starting' | 'running' | 'stopping';
  started: number;
  /** Restarts of this slot since the process started (carried over by a reload). */
  restarts: number;
  /** Crashes in a row without 30 s of health in between: the back-off. */
  streak: number;
  ports: Record<string, number>;
  /** Settles when the thread has exited (at once for a thread already gone). */
  exit: Promise<void>;
  exited: boolean;
}

export interface WorkerInfo {
  index: number;
  threadId: number;
  state: Slot['state'];
  uptime: number;
  restarts: number;
}

/**
 * The store to use after a reload: the current one while its sizes stay the same (entries
 * carry their own expiry, so a new lifetime needs no new store), else a new, empty one.
 */
function carriedOver (current: SharedMemoryStore | undefined, before: StoreOptions | undefined, after: StoreOptions): SharedMemoryStore {
  const same = current !== undefined && before !== undefined && before.size === after.size &&
    before.maxEntryBytes === after.maxEntryBytes && before.maxKeyBytes === after.maxKeyBytes;
  return same ? current : createStore(after);
}

export class Supervisor {
  #config: Config;
  #log: Logger;
  #store: SharedMemoryStore;
  /** Pass-through stick tables by frontend name. */
  #tables = new Map<string, SharedMemoryStore>();
  #backendSessions: SharedMemoryStore | undefined;
  #keys: SharedTicketKeys;
  #counters = SharedCounters.create();
  #rotation: TicketRotation;
  #redis: RedisLink | undefined;
  #stopCacheWatch: (() => void) | undefined;
  #slots: Slot[] = [];
  /** The frontends' listening sockets, the process's own (listeners.ts). */
  #listeners = new ProcessListeners();
  #serverStates = new ServerStates();
  #stopping = false;
  readonly started = Date.now();
  /** Reload counts, the last reload and the running config's hash (kept by the caller that reads the file). */
  readonly reloads = new ReloadRecord();

  constructor (config: Config, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.#store = createStore(sessionStoreOptions(config));
    this.#syncSideStores(undefined, config);
    this.#keys = SharedTicketKeys.create(config.tickets.keep + 1);
    this.#rotation = new TicketRotation(this.#keys, config, log);
  }

  get config (): Config { return this.#config; }
  get store (): SharedMemoryStore { return this.#store; }
  get keys (): SharedTicketKeys { return this.#keys; }
  get counters (): SharedCounters { return this.#counters; }
  get rotation (): TicketRotation { return this.#rotation; }
  get tables (): ReadonlyMap<string, SharedMemoryStore> { return this.#tables; }

  /** The stick tables and the backend-session store for `next`, kept across a reload while their sizes stay. */
  #syncSideStores (prev: Config | undefined, next: Config): void {
    const tables = new Map<string, SharedMemoryStore>();
    for (const f of next.frontends) {
      const options = stickTableOptions(f);
      if (!options) continue;
      const before = prev?.frontends.find((p) => p.name === f.name);
      tables.set(f.name, carriedOver(this.#tables.get(f.name), before && stickTableOptions(before), options));
    }
    this.#tables = tables;
    const backend = backendSessionOptions(next);
    this.#backendSessions = backend && carriedOver(this.#backendSessions, prev && backendSessionOptions(prev), backend);
  }

  /** Port each frontend listens on (useful with `bind: host:0`), also while no worker runs (the process's sockets). */
  get ports (): Record<string, number> {
    return { ...this.#slots.find((s) => s.state === 'running')?.ports, ...this.#listeners.ports(this.#config) };
  }

  /** Up/down of every server, aggregated over the running workers' health checks, with the reason and the time of the last change. */
  servers (): AggregatedServer[] {
    const running = this.#slots.filter((s) => s.state === 'running').map((s) => s.threadId);
    return this.#serverStates.view(this.#config.backends, running);
  }

  /** The session cache's tiers, fastest first: what `show sessions` and `clear sessions` reach. */
  sessionTiers (): Array<{ name: string; store: Pick<SharedMemoryStore, 'list' | 'clear'> }> {
    const redis = this.#redis?.sessions;
    return [{ name: 'shared', store: this.#store }, ...(redis ? [{ name: 'redis', store: redis }] : [])];
  }

  workers (): WorkerInfo[] {
    return this.#slots.map((s) => ({ index: s.index, threadId: s.threadId, state: s.state, uptime: Date.now() - s.started, restarts: s.restarts }));
  }

  async start (): Promise<void> {
    this.#redis = await openRedisLink(this.#config, this.#log, () => this.#store.clear());
    try {
      await this.#rotation.reconfigure(this.#keys, this.#config, this.#redis?.client);
    } catch (err) {
      await this.#redis?.close();
      throw new StartupError(`ticket keys: ${(err as Error).message}`, { cause: err });
    }
    try {
      // The process's sockets first: a `host:0` one learns its port here.
      this.#config = this.#listeners.open(this.#config);
      // Per-worker sockets (no addon) and `host:0`: the first worker learns the port, the others are given it.
      const first = hasPortZero(this.#config) ? this.#spawn(0, this.#config, 0, 0) : undefined;
      if (first) {
        this.#slots = [first.slot];
        await first.ready;
        this.#config = pinPorts(this.#config, first.slot.ports);
      }
      const slots = Array.from({ length: this.#config.global.workers }, (_, i) => i === 0 && first ? first : this.#spawn(i, this.#config, 0, 0));
      this.#slots = slots.map((s) => s.slot);
      await Promise.all(slots.map((s) => s.ready));
    } catch (err) {
      this.#stopping = true;
      this.#rotation.stop();
      await this.#redis?.close();
      await Promise.all(this.#slots.map((s) => s.worker.terminate()));
      this.#listeners.close();
      throw new StartupError((err as Error).message, { cause: err });
    }
    this.#stopCacheWatch = watchCacheFull(() => this.#store, this.#log);
    // Only per-worker sockets (no addon) have accept queues that a worker takes with it.
    const perWorker = perWorkerSockets(this.#config);
    if (perWorker) this.#log.warn({ listeners: 'per worker' }, perWorker);
    const migrate = perWorker ? migrateReqWarning() : undefined;
    if (migrate) this.#log.warn({ sysctl: 'net.ipv4.tcp_migrate_req', value: 0 }, migrate);
    this.#log.info({ workers: this.#slots.length, ports: this.ports }, 'workers started');
  }

  #spawn (index: number, config: Config, restarts: number, streak: number): { slot: Slot; ready: Promise<void> } {
    const init: WorkerInit = { config, index, listeners: this.#listeners.fds(config), shared: {
      store: this.#store.buffer, keys: this.#keys.buffer, counters: this.#counters.buffer,
      tables: Object.fromEntries([...this.#tables].map(([name, t]) => [name, t.buffer])),
      backendSessions: this.#backendSessions?.buffer,
    } };
    // No execArgv: workers inherit the parent's flags, and some (the test runner's) are refused.
    const worker = new Worker(WORKER_ENTRY, { workerData: init });
    let exited!: () => void;
    const exit = new Promise<void>((resolve) => { exited = resolve; });
    const slot: Slot = { index, worker, threadId: worker.threadId, config, state: 'starting', started: Date.now(), restarts, streak, ports: {}, exit, exited: false };
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          slot.state = 'running';
          slot.ports = message.ports;
          resolve();
        } else if (message.type === 'server') {
          this.#serverStates.report(slot.threadId, message);
        } else if (message.type === 'failed') {
          reject(new Error(`worker ${index}: ${message.message}`));
        }
      });
      worker.on('error', (err) => {
        this.#log.error({ worker: index, err: err.message, stack: err.stack }, `worker ${index} died: ${err.message}`);
        reject(err);
      });
      worker.on('exit', (code) => {
        slot.exited = true;
        exited();
        reject(new Error(`worker ${index} exited with code ${code} before it was ready`));
        this.#exited(slot, code);
      });
    });
    return { slot, ready };
  }

  #exited (slot: Slot, code: number): void {
    this.#serverStates.forget(slot.threadId);
    // A worker that died holding a shared-memory lock must not stall the others.
    const stores = [['session cache', this.#store], ['backend sessions', this.#backendSessions], ['ticket keys', this.#keys], ['counters', this.#counters],
      ...[...this.#tables].map(([f, t]) => [`stick table ${f}`, t] as const)] as const;
    for (const [name, store] of stores) {
      if (!store) continue;
      if (store.recoverLock(slot.threadId)) this.#log.warn({ worker: slot.index }, `recovered the ${name} lock of a dead worker`);
    }
    if (slot.state === 'stopping' || this.#stopping || this.#slots[slot.index] !== slot) return;
    const healthy = Date.now() - slot.started > 30_000;
    const streak = healthy ? 0 : slot.streak + 1;
    const delay = streak === 0 ? 0 : Math.min(MAX_BACKOFF, 100 * 2 ** (streak - 1));
    const restarts = slot.restarts + 1;
    this.#log.error({ worker: slot.index, code, restartIn: delay }, `worker ${slot.index} exited with code ${code}; restarting`);
    const timer = setTimeout(() => {
      if (this.#stopping || this.#slots[slot.index] !== slot) return;
      const next = this.#spawn(slot.index, this.#config, restarts, streak);
      this.#slots[slot.index] = next.slot;
      next.ready.then(() => this.#log.info({ worker: slot.index, restarts }, 'worker restarted'), (err: Error) => {
        this.#log.error({ worker: slot.index, err: err.message }, 'replacement worker failed to start');
        // Its exit brings the next attempt, after a longer back-off; a half-started
        // worker must not keep the ports it did bind.
        void next.slot.worker.terminate();
      });
    }, delay);
    timer.unref();
  }

  /**
   * Asks a worker to stop taking connections and drain for `drain` ms; one that has not
   * exited 2 s after that is terminated. Settles at once for a worker already gone.
   */
  async #stopSlot (slot: Slot, drain: number): Promise<void> {
    slot.state = 'stopping';
    if (slot.exited) return;
    const kill = setTimeout(() => {
      this.#log.warn({ worker: slot.index, drain }, `worker ${slot.index} did not stop within its drain time; terminated`);
      void slot.worker.terminate();
    }, drain + 2000);
    slot.worker.on('message', (m: FromWorker) => { if (m.type === 'stopped') void slot.worker.terminate(); });
    slot.worker.postMessage({ type: 'stop', drain } satisfies ToWorker);
    await slot.exit;
    clearTimeout(kill);
  }

  /**
   * Replaces the workers one at a time with ones running `next`; the listening ports
   * stay open throughout (the new worker binds before the old one closes) and the
   * cache and ticket keys live on, unless the cache's geometry changed.
   */
  async reload (next: Config): Promise<void> {
    const prev = this.#config;
    // New addresses are opened before anything changes: one that cannot be refuses the reload.
    next = this.#listeners.open(pinPorts(next, this.ports));
    try {
      await this.#apply(prev, next);
    } finally {
      // Sockets of addresses no remaining worker serves (the old ones once their workers are gone).
      this.#listeners.retain([this.#config, ...this.#slots.map((s) => s.config)]);
    }
    this.#log.info({ workers: next.global.workers, ports: this.ports }, 'configuration reloaded');
  }

  async #apply (prev: Config, next: Config): Promise<void> {
    const store = carriedOver(this.#store, sessionStoreOptions(prev), sessionStoreOptions(next));
    if (store !== this.#store) {
      this.#log.warn({ before: sessionStoreOptions(prev), after: sessionStoreOptions(next) }, 'session_cache.size or max_entry_bytes changed: the new cache starts empty');
      this.#store = store;
    }
    this.#syncSideStores(prev, next);
    if (next.tickets.keep !== prev.tickets.keep) {
      const keys = SharedTicketKeys.create(next.tickets.keep + 1);
      keys.replace(this.#keys.keys().slice(0, next.tickets.keep + 1));
      this.#keys = keys;
    }
    this.#config = next;
    await this.#redis?.close();
    this.#redis = await openRedisLink(next, this.#log, () => this.#store.clear());
    await this.#rotation.reconfigure(this.#keys, next, this.#redis?.client);
    const count = next.global.workers;
    for (let i = 0; i < Math.max(count, this.#slots.length); i++) {
      let fresh: Slot | undefined;
      if (i < count) {
        const spawned = this.#spawn(i, next, this.#slots[i]?.restarts ?? 0, 0);
        try {
          await spawned.ready;
        } catch (err) {
          // The old worker keeps serving; what was already replaced stays replaced.
          spawned.slot.state = 'stopping';
          await spawned.slot.worker.terminate();
          throw err;
        }
        fresh = spawned.slot;
      }
      // Read the slot only now: while the new worker started, the old one may have died
      // and been replaced by a restart, which this one replaces in turn.
      const old = this.#slots[i];
      if (fresh) this.#slots[i] = fresh;
      if (old) await this.#stopSlot(old, next.global.shutdown_timeout);
    }
    this.#slots.length = count;
  }

  /** Stops accepting, lets connections drain up to `shutdown_timeout`, then ends the workers. */
  async stop (): Promise<void> {
    this.#stopping = true;
    this.#stopCacheWatch?.();
    this.#rotation.stop();
    await this.#redis?.close();
    await Promise.all(this.#slots.map((s) => this.#stopSlot(s, this.#config.global.shutdown_timeout)));
    this.#listeners.close();
    await this.#store.close();
    this.#log.info('warmshake stopped');
  }

  /** Makes worker `index` die of an uncaught exception (`debug dev panic`); false if there is none. */
  panic (index: number): boolean {
    const slot = this.#slots[index];
    if (!slot || slot.state !== 'running') return false;
    slot.worker.postMessage({ type: 'panic' } satisfies ToWorker);
    return true;
  }
}
