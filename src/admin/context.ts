// What every admin command and endpoint gets: the running process and its monitor.
import type { Logger } from '../runtime/logger.ts';
import type { Monitor } from './monitor.ts';
import type { AdminSource } from './source.ts';

export interface AdminContext {
  source: AdminSource;
  monitor: Monitor;
  log: Logger;
}

/** Window the reuse ratio of `show info` and the stats page is measured over. */
export const REUSE_WINDOW_MS = 60_000;
/** Window the per-second rates are measured over. */
export const RATE_WINDOW_MS = 10_000;
