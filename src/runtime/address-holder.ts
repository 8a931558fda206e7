// Who holds an address warmshake wants: a second warmshake on the same `bind` would
// share the port through SO_REUSEPORT with other ticket keys and another cache, and
// clients would resume on only some connections. Before the workers listen, the main
// thread binds each frontend address once *without* SO_REUSEPORT: the kernel refuses
// that while any socket listens there. The holder is named from /proc when this user
// can see it (Linux: /proc/net/tcp{,6} or /proc/net/unix give the socket inode,
// /proc/PID/fd the process).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Config } from '../config/types.ts';
import { AddressInUseError } from '../errors.ts';

function read (path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Inodes of the TCP sockets listening on `port` (any address). */
function listeningInodes (port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of read(table).split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; st 0A is LISTEN.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1].split(':')[1], 16) === port) inodes.add(f[9]);
    }
  }
  return inodes;
}

interface Holder {
  pid: number;
  command: string;
}

/**
 * The process holding one of `inodes`, when /proc shows it; another process rather than
 * this one when both do (a reload: this process's own listeners do not count).
 */
function processOf (inodes: Set<string>): Holder | undefined {
  if (inodes.size === 0) return undefined;
  let self: Holder | undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m || !inodes.has(m[1])) continue;
      const holder = { pid: Number(pid), command: read(`/proc/${pid}/cmdline`).split('\0').filter(Boolean).join(' ') };
      if (holder.pid !== process.pid) return holder;
      self = holder;
      break;
    }
  }
  return self;
}

/** ` (held by pid N (command))`, or nothing when the holder cannot be known. */
export function heldBy (holder: Holder | undefined): string {
  if (!holder) return '';
  const cmd = holder.command.length > 100 ? `${holder.command.slice(0, 100)}...` : holder.command;
  return ` (held by pid ${holder.pid}${cmd ? ` (${cmd})` : ''})`;
}

/** Who listens on TCP `port`, or undefined when it cannot be known. */
export function holderOfPort (port: number): Holder | undefined {
  return processOf(listeningInodes(port));
}

/** Who listens on the unix socket `path`, or undefined when it cannot be known. */
export function holderOfSocket (path: string): Holder | undefined {
  const inodes = new Set<string>();
  for (const line of read('/proc/net/unix').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 7 && f.slice(7).join(' ') === path) inodes.add(f[6]);
  }
  return processOf(inodes);
}

/** Resolves true when something already listens on host:port (a plain bind, no SO_REUSEPORT, is refused). */
function inUse (host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(true) : reject(err)));
    probe.listen({ host, port }, () => probe.close(() => resolve(false)));
  });
}

/**
 * Refuses a frontend `bind` another process already listens on, unless the frontend
 * says `shared_port: true`. This process's own listeners (a reload) do not count.
 */
export async function assertBindsFree (config: Config): Promise<void> {
  for (const [i, f] of config.frontends.entries()) {
    const { host, port } = f.bind;
    if (port === 0 || f.shared_port || !await inUse(host, port)) continue;
    const holder = holderOfPort(port);
    if (holder?.pid === process.pid) continue;
    throw new AddressInUseError(`frontends[${i}].bind: ${host}:${port} is already in use${heldBy(holder)}; stop that process, change the bind, or set shared_port: true on the frontend to share the port on purpose`);
  }
}
