// Counters every thread adds to and the main thread reads without a lock: a
// SharedArrayBuffer holding a table of (name, value) slots. A name is registered once
// (under the shared store's lock, shm-lock.ts) and each thread caches its slot index, so the hot path
// is a Map lookup and an Atomics.add. Names carry their labels in Prometheus form
// (`warmshake_handshakes_total{frontend="https",...}`), so the exposition is a copy.
import { ShmLock, type ShmLockOptions } from '../session-cache/shm-lock.ts';

const NAME_BYTES = 248;
const SLOT_BYTES = 8 + NAME_BYTES;
// Int32 header: [0] lock, [1] slots used, [2] capacity, [3] lock sequence, [4] lock waiters.
const HEADER_WORDS = 6;
const HEADER_BYTES = HEADER_WORDS * 4;
const LOCK = 0;
const USED = 1;
const CAPACITY = 2;
const LOCK_SEQ = 3;
const WAITERS = 4;

export class SharedCounters {
  #buffer: SharedArrayBuffer;
  #header: Int32Array;
  #values: BigInt64Array;
  #bytes: Uint8Array;
  #index = new Map<string, number>();
  #known = 0;
  #lock: ShmLock;

  private constructor (buffer: SharedArrayBuffer, lockOptions?: Partial<ShmLockOptions>) {
    this.#buffer = buffer;
    this.#header = new Int32Array(buffer, 0, HEADER_WORDS);
    // Registering a name is all or nothing for the reader (USED is stored last): a taken-over lock needs no repair.
    this.#lock = new ShmLock(this.#header, { lock: LOCK, seq: LOCK_SEQ, waiters: WAITERS }, () => {}, lockOptions);
    const capacity = this.#header[CAPACITY];
    this.#values = new BigInt64Array(buffer, HEADER_BYTES, capacity);
    this.#bytes = new Uint8Array(buffer);
  }

  static create (capacity = 4096, lockOptions?: Partial<ShmLockOptions>): SharedCounters {
    const buffer = new SharedArrayBuffer(HEADER_BYTES + capacity * SLOT_BYTES);
    new Int32Array(buffer, 0, HEADER_WORDS)[CAPACITY] = capacity;
    return new SharedCounters(buffer, lockOptions);
  }

  static attach (buffer: SharedArrayBuffer, lockOptions?: Partial<ShmLockOptions>): SharedCounters {
    return new SharedCounters(buffer, lockOptions);
  }

  /** Takes back the registration lock from a worker that died holding it (see shm-lock.ts). */
  recoverLock (deadThreadId: number): boolean {
    return this.#lock.recover(deadThreadId);
  }

  get buffer (): SharedArrayBuffer { return this.#buffer; }

  add (name: string, n = 1): void {
    this.addAt(this.#slot(name), n);
  }

  /** The slot of `name` (registered if new), for callers that add to it often; -1 when the table is full. */
  slot (name: string): number {
    return this.#slot(name);
  }

  addAt (slot: number, n = 1): void {
    if (slot >= 0) Atomics.add(this.#values, slot, BigInt(n));
  }

  set (name: string, n: number): void {
    const i = this.#slot(name);
    if (i >= 0) Atomics.store(this.#values, i, BigInt(n));
  }

  get (name: string): number {
    this.#sync();
    const i = this.#index.get(name);
    return i === undefined ? 0 : Number(Atomics.load(this.#values, i));
  }

  /** Every registered name with its value, in registration order. */
  snapshot (): Map<string, number> {
    this.#sync();
    const out = new Map<string, number>();
    for (const [name, i] of this.#index) out.set(name, Number(Atomics.load(this.#values, i)));
    return out;
  }

  /** Sum of every counter whose name starts with `prefix` and contains each of `parts`. */
  sum (prefix: string, ...parts: string[]): number {
    let total = 0;
    for (const [name, value] of this.snapshot()) {
      if (name.startsWith(prefix) && parts.every((p) => name.includes(p))) total += value;
    }
    return total;
  }

  #slot (name: string): number {
    const cached = this.#index.get(name);
    if (cached !== undefined) return cached;
    this.#lock.acquire();
    try {
      this.#sync();
      const found = this.#index.get(name);
      if (found !== undefined) return found;
      const used = this.#header[USED];
      // A full table drops new names rather than failing a handshake.
      if (used >= this.#header[CAPACITY]) return -1;
      const encoded = Buffer.from(name, 'utf8').subarray(0, NAME_BYTES - 1);
      const at = this.#nameOffset(used);
      this.#bytes.set(encoded, at);
      this.#bytes[at + encoded.length] = 0;
      Atomics.store(this.#header, USED, used + 1);
      this.#index.set(name, used);
      this.#known = used + 1;
      return used;
    } finally {
      this.#lock.release();
    }
  }

  /** Learns names other threads registered since the last look. */
  #sync (): void {
    const used = Atomics.load(this.#header, USED);
    for (let i = this.#known; i < used; i++) {
      const at = this.#nameOffset(i);
      const end = this.#bytes.indexOf(0, at);
      this.#index.set(Buffer.from(this.#bytes.subarray(at, end)).toString('utf8'), i);
    }
    this.#known = Math.max(this.#known, used);
  }

  #nameOffset (i: number): number {
    return HEADER_BYTES + this.#header[CAPACITY] * 8 + i * NAME_BYTES;
  }
}

/** `name{k="v",...}` with label values escaped as Prometheus requires. */
export function metricKey (name: string, labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/**
 * Slots by label tuple, for the per-handshake counters: the Prometheus name is built
 * (escaping, joining) once per tuple, not once per event.
 */
export class CounterFamily {
  #counters: SharedCounters;
  #name: string;
  #labels: readonly string[];
  #slots = new Map<string, number>();

  constructor (counters: SharedCounters, name: string, labels: readonly string[]) {
    this.#counters = counters;
    this.#name = name;
    this.#labels = labels;
  }

  /** Adds `n` to the series with these label values, in the order the family was made with. */
  add (values: readonly string[], n = 1): void {
    const id = values.join('\u0000');
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = this.#counters.slot(metricKey(this.#name, Object.fromEntries(this.#labels.map((l, i) => [l, values[i]]))));
      this.#slots.set(id, slot);
    }
    this.#counters.addAt(slot, n);
  }
}
