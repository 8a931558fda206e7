// Compares this node's clock with Redis's. Sessions expire inside Redis (PX), so they
// need no agreement; but ticket keys carry the wall-clock time they were made, and a
// node whose clock is off rotates the shared ring early or late. A skew above a couple
// of seconds is worth a warning to the operator (fix NTP), not a failure.
import { TIMED_OUT, withDeadline } from './deadline.ts';
import type { RedisClient } from './client.ts';

/**
 * Local minus Redis time in ms, with the local time taken at the middle of the round
 * trip (Redis answers somewhere in it; the middle halves the error). Rejects when Redis
 * fails or does not answer within `timeout`.
 */
export async function checkClockSkew (client: RedisClient, timeout = 1000, now: () => number = Date.now): Promise<number> {
  const sent = now();
  const reply = await withDeadline(client.time(), timeout);
  const received = now();
  if (reply === TIMED_OUT) throw new Error(`redis TIME did not answer within ${timeout} ms`);
  const [seconds, micros] = reply.map(Number);
  return (sent + received) / 2 - (seconds * 1000 + micros / 1000);
}

export interface ClockWatchOptions {
  /** Warn when |skew| is above this many ms. */
  threshold: number;
  /** Check again every this many ms (and once at start). */
  interval: number;
  timeout: number;
  onSkew: (skewMs: number) => void;
  /** Redis did not answer: nothing to compare (the breaker reports the outage). */
  onError: (err: Error) => void;
  /** The local clock (injectable for tests). */
  now: () => number;
}

export const DEFAULT_CLOCK_WATCH_OPTIONS: ClockWatchOptions = Object.freeze({
  threshold: 2000,
  interval: 60_000,
  timeout: 1000,
  onSkew: () => {},
  onError: () => {},
  now: Date.now,
});

export interface ClockWatch {
  /** Resolves after the next check (for tests and for a first check at start). */
  check (): Promise<number | undefined>;
  stop (): void;
}

/** Checks the skew now and every `interval`, calling `onSkew` whenever it is above `threshold`. */
export function watchClockSkew (client: RedisClient, options: Partial<ClockWatchOptions> = {}): ClockWatch {
  const o = { ...DEFAULT_CLOCK_WATCH_OPTIONS, ...options };
  const check = async (): Promise<number | undefined> => {
    try {
      const skew = await checkClockSkew(client, o.timeout, o.now);
      if (Math.abs(skew) > o.threshold) o.onSkew(skew);
      return skew;
    } catch (err) {
      o.onError(err as Error);
      return undefined;
    }
  };
  const first = check();
  const timer = setInterval(check, o.interval);
  timer.unref();
  return {
    check: () => first.then(check),
    stop: () => clearInterval(timer),
  };
}
