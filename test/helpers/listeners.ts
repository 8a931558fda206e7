// The listening TCP sockets a process holds on a port, read from /proc as `ss -ltnp`
// would: each SO_REUSEPORT listener is its own socket, so this counts the listeners, not
// the port.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const LISTEN = '0A';

function socketInodes (pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch { /* closed meanwhile */ }
  }
  return inodes;
}

/** The /proc/net/tcp{,6} rows (split into fields) of process `pid`'s sockets listening on TCP `port`. */
function listenRows (pid: number, port: number): string[][] {
  const mine = socketInodes(pid);
  const rows: string[][] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 10 && f[3] === LISTEN && parseInt(f[1]!.split(':')[1]!, 16) === port && mine.has(f[9]!)) rows.push(f);
    }
  }
  return rows;
}

/** How many sockets of process `pid` listen on TCP `port` (IPv4 and IPv6). */
export function listeningSockets (pid: number, port: number): number {
  return listenRows(pid, port).length;
}

/** Connections waiting in the accept queues of those sockets (a listening socket's rx_queue). */
export function acceptQueue (pid: number, port: number): number {
  return listenRows(pid, port).reduce((n, f) => n + parseInt(f[4]!.split(':')[1]!, 16), 0);
}
