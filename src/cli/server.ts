// `warmshake run`: config (file, ./warmshake.yaml, or the embedded demo), supervisor,
// admin endpoints; reload and stop as the signal handlers in main.ts call them.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { startAdmin, type Admin } from '../admin/index.ts';
import { configHash, loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { Coalesced } from '../runtime/coalesced.ts';
import { startDemo, type Demo } from '../runtime/demo.ts';
import { createLogger, endLog, openSyslog, type Logger } from '../runtime/logger.ts';
import { Supervisor } from '../runtime/supervisor.ts';
import { versions } from '../version.ts';
import { chooseEngine, describeChoice } from '../native/choice.ts';
import { StartupError, WarmshakeError } from '../errors.ts';
import { assertBindsFree } from '../runtime/address-holder.ts';

/** Said once at start: which engine, and why not native when it is not. */
function logEngine (config: Config, log: Logger): void {
  const choice = chooseEngine(config);
  const [first, ...rest] = describeChoice(choice);
  log.info({ engine: choice.engine, reason: choice.reason, native: choice.native }, first);
  for (const line of rest) log.info(line);
}

export interface RunningServer {
  supervisor: Supervisor;
  log: Logger;
  /**
   * Re-reads the config file; a bad file is logged and the running config stays. Reloads
   * run one at a time: one asked for during a reload runs once after it (coalesced).
   */
  reload (): Promise<boolean>;
  stop (): Promise<void>;
}

export async function startServer (configPath: string | undefined, cwd: string): Promise<RunningServer> {
  const file = configPath ? resolve(cwd, configPath) : existsSync(resolve(cwd, 'warmshake.yaml')) ? resolve(cwd, 'warmshake.yaml') : undefined;
  let demo: Demo | undefined;
  let config: Config;
  let warnings: string[] = [];
  let hash: string;
  if (file) {
    ({ config, warnings, hash } = loadConfigFile(file));
  } else {
    demo = await startDemo();
    config = demo.config;
    hash = configHash(JSON.stringify(config));
  }
  // No `worker` binding: lines without one come from the main thread.
  const syslog = openSyslog(config.global.log);
  const log = createLogger(config.global.log, {}, syslog);
  log.info({ ...versions(), config: config.source, hash, workers: config.global.workers }, 'warmshake starting');
  for (const w of warnings) log.warn(w);
  logEngine(config, log);
  const supervisor = new Supervisor(config, log);
  supervisor.reloads.hash = hash;
  let admin: Admin | undefined;
  // Every address is taken before any client is served, and a start that fails at any
  // step releases what it took and says why: never workers serving with no admin side.
  try {
    await assertBindsFree(config);
    admin = await startAdmin(supervisor, log);
    await supervisor.start();
  } catch (err) {
    log.error({ err: (err as Error).message, code: (err as { code?: string }).code }, 'start failed');
    await admin?.close();
    await demo?.close();
    await endLog(log);
    syslog?.close();
    throw err instanceof WarmshakeError ? err : new StartupError((err as Error).message, { cause: err });
  }
  // Said once everything answers, admin included: scripts and tests wait for this line.
  // The admin HTTP address is the bound one (a configured port 0 is a real port here).
  log.info({ workers: config.global.workers, ports: supervisor.ports, admin: { ...config.global.admin, http: admin.http } }, 'warmshake is serving');
  if (demo) log.info({ socket: config.global.admin.socket }, `demo: curl -k https://127.0.0.1:8443/ , stats at http://127.0.0.1:9000/ , admin: warmshake ctl -s ${config.global.admin.socket} show info`);

  const reloads = new Coalesced(async (): Promise<boolean> => {
    // Failures at warn or above, success at info: both shown at the default level.
    const refuse = (err: string, message = 'reload refused: the running configuration stays'): boolean => {
      supervisor.reloads.failedWith(err);
      log.error({ err, reloadsFailed: supervisor.reloads.failed }, message);
      return false;
    };
    if (!file) {
      supervisor.reloads.failedWith('the embedded demo has no file to re-read');
      log.warn({ reloadsFailed: supervisor.reloads.failed }, 'reload refused: the embedded demo has no file to re-read');
      return false;
    }
    let next: Config;
    let nextHash: string;
    try {
      ({ config: next, warnings, hash: nextHash } = loadConfigFile(file));
    } catch (err) {
      return refuse((err as Error).message);
    }
    for (const w of warnings) log.warn(w);
    try {
      // A bind this process does not serve yet must be free, as at start.
      await assertBindsFree(next);
    } catch (err) {
      return refuse((err as Error).message);
    }
    try {
      const before = JSON.stringify(supervisor.config.global.admin);
      await supervisor.reload(next);
      // New workers log as `next` says; the main thread's logger takes the new level
      // (a new format or syslog target needs a restart).
      log.level = next.global.log.level;
      // The admin endpoints read the live config; they restart only when they move,
      // so `show info` keeps answering through a reload.
      if (JSON.stringify(next.global.admin) !== before) {
        await admin?.close();
        admin = await startAdmin(supervisor, log);
      }
      supervisor.reloads.succeeded(nextHash);
      log.info({ hash: nextHash, reloads: supervisor.reloads.ok }, `reload ${supervisor.reloads.ok} done: configuration ${nextHash} running`);
      return true;
    } catch (err) {
      return refuse((err as Error).message, 'reload failed part-way; workers not yet replaced keep the old configuration');
    }
  });

  return {
    supervisor,
    log,
    reload () {
      if (reloads.busy) log.info('reload requested during a reload: queued, runs once the current one ends');
      return reloads.run();
    },
    async stop () {
      // The admin endpoints answer while the workers drain, so the drain can be watched
      // (`show info` CurrConns, /healthz 503 "draining").
      await supervisor.stop();
      await admin?.close();
      admin = undefined;
      await demo?.close();
      await endLog(log);
      syslog?.close();
    },
  };
}
