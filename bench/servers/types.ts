// What every peer in the comparison is started with, and what the harness gets back.
// One spec drives warmshake, HAProxy and nginx, so a difference in their numbers comes
// from the servers, not from a knob set differently for one of them.

export type ServerKind = 'warmshake' | 'haproxy' | 'nginx';

export interface ServerSpec {
  /** A private temporary directory for this server's config and pid files. */
  dir: string;
  port: number;
  /** PEM files; HAProxy gets them concatenated. */
  cert: string;
  key: string;
  /** Worker threads (warmshake `workers`, HAProxy `nbthread`, nginx `worker_processes`). */
  threads: number;
  /** Sessions in the cache (nginx is given bytes: see nginx.ts). */
  cacheSize: number;
  /** Seconds. */
  lifetime: number;
  /** false: TLS 1.2 resumes by id only and TLS 1.3 issues stateful tickets. */
  tickets: boolean;
  backendPort: number;
  /** taskset CPU list for the server, e.g. '0' or '0,1'. */
  cpus: string;
  /** Three 48-byte ticket keys shared by several nodes (roaming); undefined = each makes its own. */
  ticketKeys?: Buffer[];
  /** warmshake only: the Redis tier. */
  redis?: { url: string; keyFile: string };
  /** warmshake only: `global.engine`; undefined leaves the key out (a build without engines). */
  engine?: 'node' | 'native';
  /** warmshake only: `global.log.level`; default `warn` (no per-handshake lines, as HAProxy and nginx here). */
  logLevel?: 'warn' | 'info' | 'debug';
  /** warmshake only: an admin socket (to read `show info`). */
  adminSocket?: string;
  /** HAProxy `maxconn`, nginx `worker_connections`; default 8000. */
  maxConnections?: number;
  /** Extra node flags for warmshake (profiling). */
  execArgv?: string[];
  /** Extra environment for the server process. */
  env?: Record<string, string>;
  /** A command the server runs under (e.g. valgrind's callgrind, bench/perf-case.ts); it waits longer to serve. */
  wrap?: string[];
}

export interface RunningServer {
  kind: ServerKind;
  /** Label in the report, e.g. `warmshake+redis`. */
  label: string;
  port: number;
  /** The root process; CPU and memory are summed over it and its descendants. */
  pid: number;
  /** Set once the server has exited on its own: how, and the end of its output. */
  failure (): string | undefined;
  stop (): Promise<void>;
}
