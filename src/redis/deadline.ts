// Bounding a promise by a timer. A Redis that is stalled (SIGSTOP, a long fork, a full
// network buffer) keeps the TCP connection open, so the client never fails by itself:
// the caller stops waiting instead, and a late answer is dropped.

export const TIMED_OUT: unique symbol = Symbol('timed out');

/** Resolves with the promise's value, or TIMED_OUT after `ms`; rejects when it rejects in time. */
export function withDeadline<T> (promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(TIMED_OUT), ms);
    // The process may exit while a stalled call is outstanding; the timer must not hold it.
    timer.unref();
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (err: unknown) => { clearTimeout(timer); reject(err); },
    );
  });
}
