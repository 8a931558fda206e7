// The ticket-key ring in shared memory: every worker thread encrypts tickets with the
// same newest key and decrypts with any of the ring, so a ticket made on one thread
// resumes on another. Rotation (a timer, Redis, a key file) writes; the TLS path reads.
//
// Two copies of the ring and a generation word: a writer fills the copy readers are not
// using, then bumps the generation, which flips the copy readers use. A reader copies
// the ring out and keeps it only if the generation did not move meanwhile, so it never
// sees a torn key and never waits; a writer that dies halfway leaves the live copy
// untouched. Writers take the shared store's lock (dead-owner recovery included).
// Every word is read and written with Atomics, so the ordering holds on any CPU.
import { threadId } from 'node:worker_threads';
import { ShmLock } from '../session-cache/shm-lock.ts';
import type { ShmLockOptions } from '../session-cache/shm-lock.ts';
import { TICKET_KEY_BYTES } from './ticket-key.ts';
import type { TicketKey, TicketKeySource } from './ticket-key.ts';

// Exported: the native engine's C header is generated from these (src/native/layout.ts).
export const TICKET_RING_MAGIC = 0x5753544b; // 'WSTK'
export const TICKET_RING_H = Object.freeze({ MAGIC: 0, MAX_KEYS: 1, GENERATION: 2, LOCK: 3, LOCK_SEQ: 4, WAITERS: 5 });
export const TICKET_RING_HEADER_WORDS = 8;
const MAGIC = TICKET_RING_MAGIC;
const H = TICKET_RING_H;
const HEADER_WORDS = TICKET_RING_HEADER_WORDS;
const KEY_WORDS = TICKET_KEY_BYTES / 4;
/** Key bytes, then `created` as two words (low, high) since it does not fit in 32 bits. */
export const TICKET_RING_SLOT_WORDS = KEY_WORDS + 2;
const SLOT_WORDS = TICKET_RING_SLOT_WORDS;
const TWO_32 = 0x1_0000_0000;

function copyWords (maxKeys: number): number {
  return 1 + maxKeys * SLOT_WORDS; // count, then the slots
}

export class SharedTicketKeys implements TicketKeySource {
  readonly #buffer: SharedArrayBuffer;
  readonly #words: Int32Array;
  readonly #maxKeys: number;
  readonly #lock: ShmLock;
  #cachedGeneration = -1;
  #cached: readonly TicketKey[] = Object.freeze([]);

  /** `maxKeys` = the keys kept for decryption + the one that encrypts. */
  static create (maxKeys: number, lockOptions?: Partial<ShmLockOptions>): SharedTicketKeys {
    if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > 1024) throw new RangeError(`maxKeys must be an integer in [1, 1024], got ${maxKeys}`);
    const buffer = new SharedArrayBuffer((HEADER_WORDS + 2 * copyWords(maxKeys)) * 4);
    const words = new Int32Array(buffer);
    words[H.MAGIC] = MAGIC;
    words[H.MAX_KEYS] = maxKeys;
    return new SharedTicketKeys(buffer, lockOptions);
  }

  static attach (buffer: SharedArrayBuffer, lockOptions?: Partial<ShmLockOptions>): SharedTicketKeys {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_WORDS * 4) throw new TypeError('not a shared ticket-key buffer');
    const words = new Int32Array(buffer);
    if (words[H.MAGIC] !== MAGIC || buffer.byteLength !== (HEADER_WORDS + 2 * copyWords(words[H.MAX_KEYS])) * 4) {
      throw new TypeError('not a shared ticket-key buffer');
    }
    return new SharedTicketKeys(buffer, lockOptions);
  }

  private constructor (buffer: SharedArrayBuffer, lockOptions?: Partial<ShmLockOptions>) {
    this.#buffer = buffer;
    this.#words = new Int32Array(buffer);
    this.#maxKeys = this.#words[H.MAX_KEYS];
    // Nothing to repair on takeover: a dead writer only touched the copy nobody reads.
    this.#lock = new ShmLock(this.#words, { lock: H.LOCK, seq: H.LOCK_SEQ, waiters: H.WAITERS }, () => {}, lockOptions);
  }

  get buffer (): SharedArrayBuffer {
    return this.#buffer;
  }

  get maxKeys (): number {
    return this.#maxKeys;
  }

  generation (): number {
    return Atomics.load(this.#words, H.GENERATION);
  }

  /** Newest first. The same frozen array until the ring changes: the hot path allocates nothing. */
  keys (): readonly TicketKey[] {
    let generation = Atomics.load(this.#words, H.GENERATION);
    if (generation === this.#cachedGeneration) return this.#cached;
    for (;;) {
      const keys = this.#read(generation & 1);
      const after = Atomics.load(this.#words, H.GENERATION);
      if (after === generation) {
        this.#cached = keys;
        this.#cachedGeneration = generation;
        return keys;
      }
      generation = after;
    }
  }

  /** Makes `key` the newest; the oldest beyond `maxKeys` are dropped. */
  push (key: TicketKey): void {
    this.#write((current) => [key, ...current]);
  }

  /** Sets the whole ring, newest first (keys beyond `maxKeys` are dropped). */
  replace (keys: readonly TicketKey[]): void {
    this.#write(() => keys);
  }

  /** For the supervisor: takes back the writer lock of a thread that died holding it. */
  recoverLock (deadThreadId: number): boolean {
    return deadThreadId !== threadId && this.#lock.recover(deadThreadId);
  }

  #write (next: (current: readonly TicketKey[]) => readonly TicketKey[]): void {
    this.#lock.acquire();
    try {
      const generation = Atomics.load(this.#words, H.GENERATION);
      const keys = next(this.#read(generation & 1)).slice(0, this.#maxKeys);
      for (const key of keys) {
        if (key.bytes.length !== TICKET_KEY_BYTES) throw new RangeError(`a ticket key has ${TICKET_KEY_BYTES} bytes, got ${key.bytes.length}`);
      }
      const w = this.#words;
      const base = HEADER_WORDS + ((generation + 1) & 1) * copyWords(this.#maxKeys);
      Atomics.store(w, base, keys.length);
      keys.forEach((key, k) => {
        const at = base + 1 + k * SLOT_WORDS;
        for (let i = 0; i < KEY_WORDS; i++) Atomics.store(w, at + i, key.bytes.readInt32LE(i * 4));
        Atomics.store(w, at + KEY_WORDS, (key.created % TWO_32) | 0);
        Atomics.store(w, at + KEY_WORDS + 1, Math.floor(key.created / TWO_32));
      });
      Atomics.store(w, H.GENERATION, (generation + 1) | 0);
    } finally {
      this.#lock.release();
    }
  }

  #read (copy: number): readonly TicketKey[] {
    const w = this.#words;
    const base = HEADER_WORDS + copy * copyWords(this.#maxKeys);
    const count = Math.min(Math.max(Atomics.load(w, base), 0), this.#maxKeys);
    const keys: TicketKey[] = [];
    for (let k = 0; k < count; k++) {
      const at = base + 1 + k * SLOT_WORDS;
      const bytes = Buffer.allocUnsafe(TICKET_KEY_BYTES);
      for (let i = 0; i < KEY_WORDS; i++) bytes.writeInt32LE(Atomics.load(w, at + i), i * 4);
      const created = (Atomics.load(w, at + KEY_WORDS) >>> 0) + Atomics.load(w, at + KEY_WORDS + 1) * TWO_32;
      keys.push(Object.freeze({ bytes, created }));
    }
    return Object.freeze(keys);
  }
}
