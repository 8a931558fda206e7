// `warmshake run`: config (file, ./warmshake.yaml, or the embedded demo), supervisor,
// admin endpoints; reload and stop as the signal handlers in main.ts call them.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { startAdmin, type Admin } from '../admin/index.ts';
import { loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { Coalesced } from '../runtime/coalesced.ts';
import { startDemo, type Demo } from '../runtime/demo.ts';
import { createLogger, openSyslog, type Logger } from '../runtime/logger.ts';
import { Supervisor } from '../runtime/supervisor.ts';
import { versions } from '../version.ts';

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
  if (file) {
    ({ config, warnings } = loadConfigFile(file));
  } else {
    demo = await startDemo();
    config = demo.config;
  }
  // No `worker` binding: lines without one come from the main thread.
  const syslog = openSyslog(config.global.log);
  const log = createLogger(config.global.log, {}, syslog);
  log.info({ ...versions(), config: config.source, workers: config.global.workers }, 'warmshake starting');
  for (const w of warnings) log.warn(w);
  const supervisor = new Supervisor(config, log);
  await supervisor.start();
  let admin: Admin | undefined = await startAdmin(supervisor, log);
  // Said once everything answers, admin included: scripts and tests wait for this line.
  log.info({ workers: config.global.workers, ports: supervisor.ports, admin: config.global.admin }, 'warmshake is serving');
  if (demo) log.info('demo: curl -k https://127.0.0.1:8443/ , stats at http://127.0.0.1:9000/');

  const reloads = new Coalesced(async (): Promise<boolean> => {
    if (!file) { log.warn('reload: the embedded demo has no file to re-read'); return false; }
    let next: Config;
    try {
      ({ config: next, warnings } = loadConfigFile(file));
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reload refused: the running configuration stays');
      return false;
    }
    for (const w of warnings) log.warn(w);
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
      return true;
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reload failed part-way; workers not yet replaced keep the old configuration');
      return false;
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
      await admin?.close();
      admin = undefined;
      await supervisor.stop();
      await demo?.close();
      log.flush();
      syslog?.close();
    },
  };
}
