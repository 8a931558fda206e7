// Active health checks: every `interval` ms, one probe per server (a TCP connect, or a
// TLS handshake without certificate verification: the question is "does it answer",
// not "do we trust it"). The results go to a callback; counting them against rise/fall
// is the pool's job, so live traffic failures count the same way (passive checks).
import { connect as tcpConnect, isIP } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { HealthCheckConfig, HostPort, ServerTlsConfig } from '../config/types.ts';
import { encodeProxyV2Local } from './proxy-protocol.ts';

export interface ProbeTarget {
  address: HostPort;
  tls?: ServerTlsConfig;
}

export interface ProbeOptions {
  type: HealthCheckConfig['type'];
  timeout: number;
  /** Send a PROXY v2 LOCAL header, for backends that require the header on every connection. */
  sendProxy: boolean;
}

/**
 * One probe. Resolves with undefined when the server answered, or with the reason it
 * did not (never rejects). `signal` aborts it (the pool is stopping).
 */
export function probe (target: ProbeTarget, options: ProbeOptions, signal?: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const { host, port } = target.address;
    const sockets: Socket[] = [tcpConnect({ host, port })];
    let settled = false;
    const done = (reason: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Outermost first: destroying a raw socket under a live TLSSocket that wraps its
      // handle crashes Node 24 (SIGSEGV).
      for (const socket of sockets.reverse()) {
        socket.on('error', () => {}); // late errors after the verdict
        socket.destroy();
      }
      resolve(reason);
    };
    const fail = (err: NodeJS.ErrnoException): void => done(`${options.type} check failed: ${err.code ?? err.message}`);
    const onAbort = (): void => done('aborted');
    const timer = setTimeout(() => done(`${options.type} check timed out after ${options.timeout} ms`), options.timeout);
    signal?.addEventListener('abort', onAbort, { once: true });
    const raw = sockets[0];
    raw.once('error', fail);
    raw.once('connect', () => {
      // The LOCAL header goes first, before any TLS bytes, as on a proxied connection.
      if (options.sendProxy) raw.write(encodeProxyV2Local());
      if (options.type === 'tcp') {
        // Wait for the header to be flushed so the backend sees it, not a bare reset.
        if (options.sendProxy) raw.end(() => done(undefined));
        else done(undefined);
        return;
      }
      const servername = target.tls?.servername ?? (isIP(host) ? undefined : host);
      const tls = tlsConnect({ socket: raw, servername, rejectUnauthorized: false });
      sockets.push(tls);
      tls.once('error', fail);
      tls.once('secureConnect', () => done(undefined));
    });
  });
}

export interface HealthMonitorTarget extends ProbeTarget {
  /** Called with each result: undefined = success, otherwise the reason. */
  report (reason: string | undefined): void;
}

/** Runs `probe` on each target every `interval` ms, one at a time per target (no overlap). */
export class HealthMonitor {
  #check: HealthCheckConfig;
  #sendProxy: boolean;
  #targets: readonly HealthMonitorTarget[];
  #timers = new Set<NodeJS.Timeout>();
  #abort: AbortController | undefined;

  constructor (check: HealthCheckConfig, targets: readonly HealthMonitorTarget[], sendProxy = false) {
    this.#check = check;
    this.#targets = targets;
    this.#sendProxy = sendProxy;
  }

  get running (): boolean { return this.#abort !== undefined; }

  start (): void {
    if (this.#abort) return;
    const abort = new AbortController();
    this.#abort = abort;
    const options: ProbeOptions = { type: this.#check.type, timeout: this.#check.timeout, sendProxy: this.#sendProxy };
    for (const target of this.#targets) {
      const run = async (): Promise<void> => {
        const reason = await probe(target, options, abort.signal);
        if (abort.signal.aborted) return;
        target.report(reason);
        schedule(this.#check.interval);
      };
      const schedule = (delay: number): void => {
        const timer = setTimeout(() => { this.#timers.delete(timer); void run(); }, delay);
        // Checks alone should not keep a process alive that has nothing else to do.
        timer.unref();
        this.#timers.add(timer);
      };
      // Spread the first round (over at most a second) so N servers are not probed at once.
      schedule(Math.floor(Math.random() * Math.min(this.#check.interval, 1000)));
    }
  }

  stop (): void {
    this.#abort?.abort();
    this.#abort = undefined;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
