// A circuit breaker in front of the Redis tier. A handshake must never wait on a Redis
// that is down or stalled: after `errors` consecutive failures the breaker opens and
// calls are refused at once (the handshake goes on as a full one); after `backoff` one
// probe call is let through (half-open); its success closes the breaker, its failure
// opens it for another `backoff`. State changes are events, so the caller logs once per
// change and not once per connection.
import { EventEmitter } from 'node:events';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures (errors or timeouts) that open the breaker. */
  errors: number;
  /** Milliseconds the breaker stays open before it lets one probe through. */
  backoff: number;
  /** The clock, injectable for tests. */
  now: () => number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = Object.freeze({
  errors: 5,
  backoff: 5000,
  now: () => performance.now(),
});

export interface BreakerEvents {
  /** (state, previous). */
  state: [BreakerState, BreakerState];
}

export class CircuitBreaker extends EventEmitter<BreakerEvents> {
  readonly #errors: number;
  readonly #backoff: number;
  readonly #now: () => number;
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  /** When the half-open probe was let through; NaN when none is out. */
  #probeAt = Number.NaN;

  constructor (options: Partial<BreakerOptions> = {}) {
    super();
    const o = { ...DEFAULT_BREAKER_OPTIONS, ...options };
    this.#errors = Math.max(1, o.errors);
    this.#backoff = Math.max(0, o.backoff);
    this.#now = o.now;
  }

  get state (): BreakerState {
    return this.#state;
  }

  /**
   * Whether a call may go ahead now; a caller that gets true must report the outcome
   * with `success()` or `failure()`. While half-open only the one probe is allowed,
   * except that a probe that never reported within `backoff` is replaced by a new one,
   * so a lost report cannot keep the breaker shut forever.
   */
  allow (): boolean {
    if (this.#state === 'closed') return true;
    const now = this.#now();
    if (this.#state === 'open') {
      if (now - this.#openedAt < this.#backoff) return false;
      this.#set('half-open');
      this.#probeAt = now;
      return true;
    }
    if (Number.isNaN(this.#probeAt) || now - this.#probeAt >= this.#backoff) {
      this.#probeAt = now;
      return true;
    }
    return false;
  }

  success (): void {
    this.#failures = 0;
    this.#probeAt = Number.NaN;
    if (this.#state !== 'closed') this.#set('closed');
  }

  failure (): void {
    this.#probeAt = Number.NaN;
    if (this.#state === 'half-open') {
      this.#open();
      return;
    }
    if (this.#state === 'open') return;
    this.#failures++;
    if (this.#failures >= this.#errors) this.#open();
  }

  #open (): void {
    this.#openedAt = this.#now();
    this.#failures = 0;
    this.#set('open');
  }

  #set (state: BreakerState): void {
    const previous = this.#state;
    this.#state = state;
    this.emit('state', state, previous);
  }
}
