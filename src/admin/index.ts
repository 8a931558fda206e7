// The admin side of a running warmshake: the unix socket, the HTTP endpoint (metrics,
// stats page) and the once-a-second monitor behind both (history, resumption alert).
// `startAdmin` starts what the config asks for; on reload the caller closes it and
// starts it again, and the monitor (history, alert state) carries over.
import type { HostPort } from '../config/types.ts';
import type { Logger } from '../runtime/logger.ts';
import { DEFAULT_ALERT_OPTIONS, type AlertOptions } from './alert.ts';
import { runCommand } from './commands.ts';
import type { AdminContext } from './context.ts';
import { listenAdminHttp, type AdminHttp } from './http-server.ts';
import { monitorFor, type MonitorOptions } from './monitor.ts';
import { listenAdminSocket, type AdminSocket } from './socket-server.ts';
import type { AdminSource } from './source.ts';

export type { AdminSource } from './source.ts';
export { runCommand } from './commands.ts';

export interface Admin {
  /** The socket path, when one is configured. */
  readonly socketPath?: string;
  /** Where the HTTP endpoint listens (the real port when the config said 0). */
  readonly http?: HostPort;
  close (): Promise<void>;
}

export interface AdminOptions {
  alert: AlertOptions;
  /** ms between samples of the counters. */
  sampleMs: number;
}

export const DEFAULT_ADMIN_OPTIONS: AdminOptions = Object.freeze({
  alert: DEFAULT_ALERT_OPTIONS,
  sampleMs: 1000,
});

export async function startAdmin (source: AdminSource, log: Logger, options: Partial<AdminOptions> = {}): Promise<Admin> {
  const o = { ...DEFAULT_ADMIN_OPTIONS, ...options, alert: { ...DEFAULT_ALERT_OPTIONS, ...options.alert } };
  const monitorOptions: Partial<MonitorOptions> = { sampleMs: o.sampleMs, alert: o.alert };
  const monitor = monitorFor(source, log, monitorOptions);
  const ctx: AdminContext = { source, monitor, log };
  const { socket: socketPath, http: httpAddress } = source.config.global.admin;
  let socket: AdminSocket | undefined;
  let http: AdminHttp | undefined;
  try {
    if (socketPath) socket = await listenAdminSocket(socketPath, (line) => runCommand(line, ctx), log);
    if (httpAddress) http = await listenAdminHttp(httpAddress, ctx, log);
  } catch (err) {
    await socket?.close();
    throw err;
  }
  monitor.start();
  return {
    socketPath: socket?.path,
    http: http?.address,
    async close () {
      monitor.stop();
      await Promise.all([socket?.close(), http?.close()]);
    },
  };
}
