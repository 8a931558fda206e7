// A mutex in one Int32 word of shared memory, taken by every thread that touches the
// shared store. The word holds the owner's thread id + 1 (0 = free), so a lock left by
// a worker that died inside a critical section can be taken back: the supervisor, who
// sees the worker exit, calls `recover(threadId)`; and as a last resort a waiter breaks
// a lock that has had the same owner and the same acquisition for longer than
// `staleMs` (a healthy critical section lasts microseconds). Whoever takes a lock over
// is told (`onTakeover`), so the store can repair what the dead owner left half done.
//
// Waiting spins briefly (the critical sections are short), then sleeps in Atomics.wait
// with a short timeout; the releaser notifies only when someone sleeps.
import { threadId } from 'node:worker_threads';

export interface ShmLockOptions {
  /** Failed attempts before a waiter starts sleeping. */
  spins: number;
  /** Longest single sleep, ms (then the waiter looks again and checks for a stale lock). */
  waitMs: number;
  /** A lock with no progress for this long (ms) is broken by a waiter. */
  staleMs: number;
}

export const DEFAULT_SHM_LOCK_OPTIONS: ShmLockOptions = Object.freeze({
  // About a microsecond of spinning, as long as a lookup holds the lock: sleeping in
  // the kernel and being woken costs more than that.
  spins: 256,
  waitMs: 2,
  staleMs: 1000,
});

/** Indices, in the Int32Array given, of the lock's three words. */
export interface ShmLockWords {
  lock: number;
  /** Bumped on every acquisition: lets a waiter tell a stuck owner from a busy one. */
  seq: number;
  /** How many threads sleep on the lock word. */
  waiters: number;
}

export function lockTag (thread: number): number {
  return thread + 1;
}

/**
 * The native engine's thread of a worker takes the lock with the worker's tag plus this
 * bit (it is another thread, but dies with its worker), so `recover(worker)` frees both.
 */
export const NATIVE_LOCK_BIT = 0x40000000;

export class ShmLock {
  readonly #words: Int32Array;
  readonly #at: ShmLockWords;
  readonly #tag: number;
  readonly #options: ShmLockOptions;
  readonly #onTakeover: () => void;
  #stolen = 0;

  constructor (words: Int32Array, at: ShmLockWords, onTakeover: () => void, options: Partial<ShmLockOptions> = {}) {
    this.#words = words;
    this.#at = at;
    this.#tag = lockTag(threadId);
    this.#options = { ...DEFAULT_SHM_LOCK_OPTIONS, ...options };
    this.#onTakeover = onTakeover;
  }

  /** Thread id of the holder, or -1 when free. */
  owner (): number {
    return Atomics.load(this.#words, this.#at.lock) - 1;
  }

  /** Times this thread found, on release, that its lock had been broken by a waiter. */
  get stolen (): number {
    return this.#stolen;
  }

  acquire (): void {
    const w = this.#words;
    if (Atomics.compareExchange(w, this.#at.lock, 0, this.#tag) === 0) {
      // Plain increment: only the holder writes it, waiters only compare it.
      w[this.#at.seq] = (w[this.#at.seq] + 1) | 0;
      return;
    }
    this.#acquireSlow();
  }

  release (): void {
    const w = this.#words;
    if (Atomics.compareExchange(w, this.#at.lock, this.#tag, 0) !== this.#tag) this.#stolen++;
    if (Atomics.load(w, this.#at.waiters) > 0) Atomics.notify(w, this.#at.lock, 1);
  }

  /**
   * Takes back a lock held by a thread known to be dead (the supervisor saw it exit).
   * True when that thread held it; the store is then repaired and the lock released.
   */
  recover (deadThreadId: number): boolean {
    const dead = lockTag(deadThreadId);
    if (dead === this.#tag) return false;
    if (Atomics.compareExchange(this.#words, this.#at.lock, dead, this.#tag) !== dead &&
      Atomics.compareExchange(this.#words, this.#at.lock, dead | NATIVE_LOCK_BIT, this.#tag) !== (dead | NATIVE_LOCK_BIT)) return false;
    this.#tookOver();
    this.release();
    return true;
  }

  #tookOver (): void {
    const w = this.#words;
    w[this.#at.seq] = (w[this.#at.seq] + 1) | 0;
    this.#onTakeover();
  }

  #acquireSlow (): void {
    const w = this.#words;
    const { lock, seq, waiters } = this.#at;
    const { spins, waitMs, staleMs } = this.#options;
    let tries = 0;
    let seenOwner = 0;
    let seenSeq = 0;
    let since = 0;
    for (;;) {
      const owner = Atomics.load(w, lock);
      if (owner === 0) {
        if (Atomics.compareExchange(w, lock, 0, this.#tag) === 0) {
          w[seq] = (w[seq] + 1) | 0;
          return;
        }
        continue;
      }
      if (owner === this.#tag) throw new Error('shared store lock is already held by this thread');
      if (++tries < spins) continue;
      const ownerSeq = Atomics.load(w, seq);
      const now = Date.now();
      if (owner !== seenOwner || ownerSeq !== seenSeq) {
        seenOwner = owner;
        seenSeq = ownerSeq;
        since = now;
      } else if (now - since > staleMs) {
        if (Atomics.compareExchange(w, lock, owner, this.#tag) === owner) {
          this.#tookOver();
          return;
        }
        continue;
      }
      Atomics.add(w, waiters, 1);
      Atomics.wait(w, lock, owner, waitMs);
      Atomics.sub(w, waiters, 1);
    }
  }
}
