// The main thread's once-a-second loop: sample the totals into the history, run the
// resumption alert per frontend, log what it decides. One monitor per supervisor, kept
// across admin restarts (a reload recreates the admin endpoints, not the history).
import { every } from '../beat.ts';
import type { Logger } from '../runtime/logger.ts';
import { decideAlert, DEFAULT_ALERT_OPTIONS, type AlertOptions, type AlertState } from './alert.ts';
import { History, type HistoryOptions } from './history.ts';
import type { AdminSource } from './source.ts';
import { TotalsReader, zeroTotals } from './totals.ts';

export interface MonitorOptions {
  /** ms between samples. */
  sampleMs: number;
  alert: AlertOptions;
  history: Partial<HistoryOptions>;
}

export const DEFAULT_MONITOR_OPTIONS: MonitorOptions = Object.freeze({
  sampleMs: 1000,
  alert: DEFAULT_ALERT_OPTIONS,
  history: {},
});

export class Monitor {
  #source: AdminSource;
  #log: Logger;
  #options: MonitorOptions;
  /** Stops the sampling (src/beat.ts every). */
  #timer: (() => void) | undefined;
  #alerts = new Map<string, AlertState>();
  readonly history: History;

  constructor (source: AdminSource, log: Logger, options: Partial<MonitorOptions> = {}) {
    this.#source = source;
    this.#log = log;
    this.#options = { ...DEFAULT_MONITOR_OPTIONS, ...options };
    const recentMs = Math.max(120_000, this.#options.alert.windowMs + 2 * this.#options.sampleMs);
    // The counters start at zero when the supervisor makes them: that is the baseline.
    const reader = new TotalsReader(source);
    this.history = new History((at) => reader.read(at), zeroTotals(source.started), { recentMs, ...this.#options.history });
  }

  get alertOptions (): AlertOptions { return this.#options.alert; }

  /** Alert state per frontend (only frontends that have been evaluated). */
  alerts (): Map<string, AlertState> { return this.#alerts; }

  configure (log: Logger, options: Partial<MonitorOptions>): void {
    this.#log = log;
    this.#options = { ...this.#options, ...options };
  }

  start (): void {
    if (this.#timer) return;
    // On the thread's beat (src/beat.ts), with the cache watch: one wake-up a second.
    this.#timer = every(this.#options.sampleMs, () => this.tick());
  }

  stop (): void {
    this.#timer?.();
    this.#timer = undefined;
  }

  tick (now = Date.now()): void {
    try {
      const current = this.history.sample(now);
      const window = this.history.window(this.#options.alert.windowMs, now, current);
      const threshold = this.#source.config.global.resumption_alert_below;
      for (const f of this.#source.config.frontends) {
        const t = window.frontends[f.name];
        if (!t) continue;
        const prev = this.#alerts.get(f.name) ?? { below: false };
        const { state, log } = decideAlert(prev, {
          frontend: f.name, threshold, full: t.full, resumed: t.resumed, misses: t.misses,
          evictions: window.cache.evictions, expired: window.cache.expired, spanMs: window.spanMs,
        }, now, this.#options.alert);
        this.#alerts.set(f.name, state);
        if (log) this.#log[log.level](log.fields, log.msg);
      }
    } catch (err) {
      // Never let a bad sample end the loop (or the process).
      this.#log.error({ err: (err as Error).message }, 'admin monitor: sample failed');
    }
  }
}

const monitors = new WeakMap<AdminSource, Monitor>();

/** The monitor of this supervisor, made on first use. */
export function monitorFor (source: AdminSource, log: Logger, options: Partial<MonitorOptions> = {}): Monitor {
  let m = monitors.get(source);
  if (m) m.configure(log, options);
  else monitors.set(source, (m = new Monitor(source, log, options)));
  return m;
}
