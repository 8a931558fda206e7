// `clear sessions` on one node must empty what every node serves from: the Redis tier,
// and each node's own shared-memory tier, which would otherwise keep resuming the
// sessions it copied from Redis. The node that clears writes a new mark under
// `<prefix>cleared`; every node polls that key and clears its local tier when the mark
// changes. A poll is one GET a second on the main thread, never on a handshake path.
import { randomBytes } from 'node:crypto';
import { TIMED_OUT, withDeadline } from '../redis/deadline.ts';
import type { RedisClient } from '../redis/client.ts';

export interface ClearWatchOptions {
  /** ms between polls. */
  interval: number;
  /** ms a poll may take. */
  timeout: number;
}

export const DEFAULT_CLEAR_WATCH_OPTIONS: ClearWatchOptions = Object.freeze({ interval: 1000, timeout: 1000 });

export interface ClearWatch {
  /** Tells every node to clear its local tier (this one excepted: its caller cleared it). */
  announce (): Promise<void>;
  stop (): void;
}

export function watchClears (client: RedisClient, prefix: string, onClear: () => void, options: Partial<ClearWatchOptions> = {}): ClearWatch {
  const o = { ...DEFAULT_CLEAR_WATCH_OPTIONS, ...options };
  const key = `${prefix}cleared`;
  // undefined until the first answer: a mark set before this node started is no request to it.
  let seen: string | null | undefined;
  let polling = false;
  const poll = async (): Promise<void> => {
    if (polling) return;
    polling = true;
    try {
      const mark = await withDeadline(client.get(key), o.timeout);
      if (mark === TIMED_OUT) return;
      if (seen !== undefined && mark !== null && mark !== seen) onClear();
      seen = mark;
    } catch {
      // Redis down: the breaker and the clock watch report it; the next poll catches up.
    } finally {
      polling = false;
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), o.interval);
  timer.unref();
  return {
    async announce () {
      const mark = randomBytes(8).toString('hex');
      seen = mark;
      await client.set(key, mark);
    },
    stop: () => clearInterval(timer),
  };
}
