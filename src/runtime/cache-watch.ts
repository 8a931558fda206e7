// Says when the shared session cache is full (it evicts live sessions to make room), at
// most once a second, as nginx does: every eviction is a returning client's full
// handshake, and the fix is a config change the operator has to make.
import type { SessionStore } from '../session-cache/store.ts';
import { every } from '../beat.ts';
import type { Logger } from './logger.ts';

export function watchCacheFull (store: () => SessionStore, log: Logger, everyMs = 1000): () => void {
  let last = store().stats().evictions;
  // On the thread's beat (beat.ts), with the admin sample: one wake-up a second.
  return every(everyMs, () => {
    const { evictions, capacity, entries } = store().stats();
    if (evictions > last) {
      log.warn({ evicted: evictions - last, entries, capacity },
        `session cache full: ${evictions - last} live sessions evicted in the last second; raise session_cache.size (now ${capacity})`);
    }
    last = evictions;
  });
}
