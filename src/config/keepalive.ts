// A frontend's TCP keep-alive as both engines set it on the listening socket: the idle
// time before the first probe, in ms, or 0 for off (the socket outlives configs, so off
// is set as well as on).
import type { FrontendConfig } from './types.ts';

export function keepaliveMs (f: Pick<FrontendConfig, 'keepalive' | 'keepalive_delay'>): number {
  return f.keepalive ? f.keepalive_delay : 0;
}
