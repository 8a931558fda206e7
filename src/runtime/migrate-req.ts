// Without the addon every worker thread has its own SO_REUSEPORT listening socket, and
// the kernel hands each new connection to one of them (where the addon loads, the socket
// is the process's on either engine, runtime/listeners.ts, and needs none of this). When
// a worker's socket closes (a reload retiring the old worker, a worker that dies), the
// connections still waiting in its accept queue are reset, unless Linux's
// net.ipv4.tcp_migrate_req (5.14+) is 1: then they move to another socket of the same
// port. warmshake does not change a system setting by itself; it reads it once at start
// and says what the operator loses while it is 0.
import { readFileSync } from 'node:fs';

export const MIGRATE_REQ_SYSCTL = '/proc/sys/net/ipv4/tcp_migrate_req';

/** The sysctl's value, or undefined where there is none (not Linux, or a kernel before 5.14). */
export function tcpMigrateReq (path = MIGRATE_REQ_SYSCTL): number | undefined {
  try {
    const value = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isNaN(value) ? undefined : value;
  } catch {
    return undefined;
  }
}

/** The warning to log at start, or undefined when the kernel migrates queued connections. */
export function migrateReqWarning (value = tcpMigrateReq()): string | undefined {
  if (value !== 0) return undefined;
  return 'net.ipv4.tcp_migrate_req is 0: connections waiting in the accept queue of a worker that stops (reload) or dies are reset; ' +
    'set it to 1 (sysctl -w net.ipv4.tcp_migrate_req=1, or contrib/60-warmshake.conf in /etc/sysctl.d/) for reloads that fail no handshake';
}
