// The listening sockets of the frontends belong to the process, not to a worker: the
// supervisor opens one per frontend address (the addon's listenerOpen) before the
// workers that serve it start. A native frontend's engine threads add the descriptor to
// their epoll sets; an engine-node worker serves its own dup() of it (listenerDup,
// net.Server.listen({ fd })), which its server closes when the worker stops or dies. So
// the port never refuses while the process lives (a worker that dies, even the last one,
// leaves the kernel queueing into the backlog until its replacement accepts), and a
// reload resets nothing queued: the descriptor stays open across it while the address
// stays in the config. A reload that moves or drops an address opens the new one before
// its workers start and closes the old one once no worker of the old config is left.
// Without the addon, engine node's workers keep a SO_REUSEPORT socket each
// (perWorkerSockets; docs/operations.md says what that costs).
import { closeSync } from 'node:fs';
import type { Config, FrontendConfig } from '../config/types.ts';
import { AddressInUseError, NativeEngineError } from '../errors.ts';
import { loadAddon } from '../native/addon.ts';
import { heldBy, holderOfPort } from './address-holder.ts';
import { pinPorts } from './pinned-ports.ts';

interface Listener { fd: number; port: number }

const addressOf = (f: FrontendConfig, port = f.bind.port): string => `${f.bind.host} ${port}`;

/** The frontends of `config` with a socket of the process: all of them where the addon loads, else none. */
function ownedFrontends (config: Config): readonly FrontendConfig[] {
  return loadAddon().ok ? config.frontends : [];
}

/**
 * What to say once at start when the workers of `config` listen on a SO_REUSEPORT socket
 * each (no addon, so no process socket): undefined when every frontend has the process's.
 */
export function perWorkerSockets (config: Config): string | undefined {
  const loaded = loadAddon();
  if (loaded.ok || config.frontends.length === 0) return undefined;
  return `${loaded.reason}: each worker listens on its own SO_REUSEPORT socket per frontend, ` +
    'so the port refuses connections while no worker runs, and a worker that stops or dies resets the connections in its accept queue';
}

export class ProcessListeners {
  /** By address (host and port as bound, never port 0). */
  readonly #open = new Map<string, Listener>();

  /**
   * Opens the socket of every frontend of `config` whose address is not open yet,
   * and returns `config` with each `host:0` of those bound to the port it got (the
   * config itself when nothing changes). Throws, naming the frontend and the address.
   */
  open (config: Config): Config {
    const loaded = loadAddon();
    const owned = ownedFrontends(config);
    if (!loaded.ok || owned.length === 0) return config;
    const got = new Map<string, number>(); // the port each `host:0` frontend was given
    for (const f of owned) {
      if (this.#open.has(addressOf(f))) continue;
      const i = config.frontends.indexOf(f);
      let l: Listener;
      try {
        l = loaded.addon.listenerOpen(f.bind.host, f.bind.port, f.backlog);
      } catch (err) {
        const message = `frontends[${i}].bind: ${(err as Error).message}`;
        if ((err as { code?: string }).code === 'EADDRINUSE') throw new AddressInUseError(`${message}${heldBy(holderOfPort(f.bind.port))}`);
        throw new NativeEngineError(message, { cause: err });
      }
      this.#open.set(addressOf(f, l.port), l);
      if (f.bind.port === 0) got.set(f.name, l.port);
    }
    return pinPorts(config, Object.fromEntries(got));
  }

  /** The descriptor of each frontend of `config` that has one, by name: what a worker of `config` is given. */
  fds (config: Config): Record<string, number> {
    return this.#byName(config, (l) => l.fd);
  }

  /** The port of each frontend of `config` that has a socket, by name. */
  ports (config: Config): Record<string, number> {
    return this.#byName(config, (l) => l.port);
  }

  #byName (config: Config, pick: (l: Listener) => number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of ownedFrontends(config)) {
      const l = this.#open.get(addressOf(f));
      if (l) out[f.name] = pick(l);
    }
    return out;
  }

  /** Closes every socket that no frontend of `live` (the configs workers still run) listens on. */
  retain (live: readonly Config[]): void {
    const used = new Set(live.flatMap((c) => ownedFrontends(c).map((f) => addressOf(f))));
    for (const [address, l] of this.#open) {
      if (used.has(address)) continue;
      this.#open.delete(address);
      closeSync(l.fd);
    }
  }

  /** Closes them all (the process stops, or never started). */
  close (): void {
    this.retain([]);
  }
}
