// `bind: host:0` asks the kernel for a port. Without the addon the workers share a port
// through SO_REUSEPORT, so each of them binding port 0 would get a port of its own: the
// port the first worker was given is written into the config the others (and the
// replacements after a death or a reload) get. (Where the addon loads, every frontend's
// port comes from the process's socket, runtime/listeners.ts, before any worker starts.)
// Tests rely on this to never pick a port themselves.
import type { Config } from '../config/types.ts';

/** True when some frontend asks for a port the kernel chooses. */
export function hasPortZero (config: Config): boolean {
  return config.frontends.some((f) => f.bind.port === 0);
}

/**
 * `config` with every `host:0` frontend bound to the port already held under its name
 * (`ports`, as the running workers report them); the config itself when nothing changes.
 */
export function pinPorts (config: Config, ports: Readonly<Record<string, number>>): Config {
  if (!config.frontends.some((f) => f.bind.port === 0 && ports[f.name])) return config;
  const frontends = config.frontends.map((f) => f.bind.port === 0 && ports[f.name]
    ? Object.freeze({ ...f, bind: Object.freeze({ ...f.bind, port: ports[f.name] }) })
    : f);
  return Object.freeze({ ...config, frontends: Object.freeze(frontends) }) as Config;
}
