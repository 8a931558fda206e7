// The worker's half of the native engine's Redis tier (c/tier.h): the engine cannot
// reach Redis, so it hands the worker what engine node's TieredStore would do inside
// the TLS callbacks, and the worker does it with the same store (the same timeout,
// breaker, sealing and counters). A new session is written to Redis in the background;
// a lookup the shared memory missed is asked of Redis, a hit copied into the shared
// memory, and the engine told to resume that handshake.
import type { TieredStore } from '../session-cache/tiered-store.ts';
import { TIER_RESULT, type TierMessage } from './types.ts';

type Result = keyof typeof TIER_RESULT;

/** Back to the engine: a lookup's result, or (TIER_RESULT.sent) up to which publish the writes have left. */
export type TierAnswer = (token: number, result: number) => void;

export class NativeRedisTier {
  readonly #store: TieredStore;

  constructor (store: TieredStore) {
    this.#store = store;
  }

  /** The messages of one drain of the engine. */
  serve (messages: readonly TierMessage[], answer: TierAnswer): void {
    for (const m of messages) {
      if (m.token !== undefined) this.#lookup(m.key, m.token, answer);
      // The write leaves now (the Redis client writes synchronously when connected).
      else if (m.record) this.#store.publish(m.key, m.record, m.ttl);
    }
    // The engine holds each connection that made a session until its write has left, so
    // that the client, once answered, cannot reconnect to another node before it.
    const sent = messages.reduce((last, m) => m.seq ?? last, 0);
    if (sent > 0) answer(sent, TIER_RESULT.sent);
  }

  #lookup (key: Buffer, token: number, answer: TierAnswer): void {
    this.#store.fill(key).then(
      (r): Result => r.value ? (r.filled ? 'hit' : 'error') : r.miss === 'timeout' || r.miss === 'error' ? r.miss : 'unknown',
      (): Result => 'error',
    ).then((result) => answer(token, TIER_RESULT[result]));
  }
}
