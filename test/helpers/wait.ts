// Waiting on a condition instead of sleeping: `probe` is asked again every few ms until
// it returns a value, for up to a generous deadline (a guard against a test that would
// hang, never a speed assertion: on an idle machine the wait ends within milliseconds).
import { setTimeout as sleep } from 'node:timers/promises';

/** Generous on purpose: a shared 2-core machine under load can be 10x slower than idle. */
export const WAIT_GUARD_MS = 30_000;

/** Resolves with the first value `probe` returns that is not undefined or false; rejects naming `what` after `timeoutMs`. */
export async function waitUntil<T> (probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = WAIT_GUARD_MS, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(everyMs);
  }
}
