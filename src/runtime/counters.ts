// Counters every thread adds to and the main thread reads without a lock: a
// SharedArrayBuffer holding a table of (series, value) slots. A series is a family
// (see worker-stats.ts) with its label values; it is registered once (under the same
// lock as the shared stores, shm-lock.ts) and each thread caches its slot index, so the
// hot path is a Map lookup and an Atomics.add. Readers get typed entries back, never a
// name to parse: the Prometheus names live in admin/metrics.ts alone.
import { ShmLock, type ShmLockOptions } from '../session-cache/shm-lock.ts';

export type Labels = Readonly<Record<string, string>>;

/** One registered series and its value. */
export interface CounterEntry {
  family: string;
  labels: Labels;
  value: number;
}

const KEY_BYTES = 248;
const SLOT_BYTES = 8 + KEY_BYTES;
// Int32 header: [0] lock, [1] slots used, [2] capacity, [3] lock sequence, [4] lock waiters.
const HEADER_WORDS = 6;
const HEADER_BYTES = HEADER_WORDS * 4;
const LOCK = 0;
const USED = 1;
const CAPACITY = 2;
const LOCK_SEQ = 3;
const WAITERS = 4;

/** The stored form of a series: JSON never holds a raw NUL, the slot's terminator. */
const encode = (family: string, labels: Labels): string => JSON.stringify([family, labels]);

export class SharedCounters {
  #buffer: SharedArrayBuffer;
  #header: Int32Array;
  #values: BigInt64Array;
  /** The values as 32-bit halves, for changedSince: a BigInt64Array read allocates a BigInt per word. */
  #halves: Int32Array;
  #bytes: Uint8Array;
  #index = new Map<string, number>();
  /** Slot i's series, as registered (filled by #sync). */
  #series: Array<{ family: string; labels: Labels }> = [];
  #lock: ShmLock;

  private constructor (buffer: SharedArrayBuffer, lockOptions?: Partial<ShmLockOptions>) {
    this.#buffer = buffer;
    this.#header = new Int32Array(buffer, 0, HEADER_WORDS);
    // Registering a series is all or nothing for the reader (USED is stored last): a taken-over lock needs no repair.
    this.#lock = new ShmLock(this.#header, { lock: LOCK, seq: LOCK_SEQ, waiters: WAITERS }, () => {}, lockOptions);
    const capacity = this.#header[CAPACITY];
    this.#values = new BigInt64Array(buffer, HEADER_BYTES, capacity);
    this.#halves = new Int32Array(buffer, HEADER_BYTES, 2 * capacity);
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

  add (family: string, labels: Labels = {}, n = 1): void {
    this.addAt(this.slot(family, labels), n);
  }

  /** The slot of the series (registered if new), for callers that add to it often; -1 when the table is full. */
  slot (family: string, labels: Labels = {}): number {
    return this.#slot(encode(family, labels));
  }

  addAt (slot: number, n = 1): void {
    if (slot >= 0) Atomics.add(this.#values, slot, BigInt(n));
  }

  setAt (slot: number, n: number): void {
    if (slot >= 0) Atomics.store(this.#values, slot, BigInt(n));
  }

  set (family: string, labels: Labels, n: number): void {
    this.setAt(this.slot(family, labels), n);
  }

  get (family: string, labels: Labels = {}): number {
    this.#sync();
    const i = this.#index.get(encode(family, labels));
    return i === undefined ? 0 : Number(Atomics.load(this.#values, i));
  }

  /** Every registered series with its value, in registration order. */
  entries (): CounterEntry[] {
    this.#sync();
    return this.#series.map((s, i) => ({ family: s.family, labels: s.labels, value: Number(Atomics.load(this.#values, i)) }));
  }

  /** A record of nothing seen yet, for changedSince. */
  newSnapshot (): Int32Array {
    return new Int32Array(1 + this.#halves.length).fill(-1, 0, 1);
  }

  /**
   * Whether a series came or a value moved since the last call with `seen` (from
   * newSnapshot), which it brings up to date. Allocates nothing: a sampler skips a quiet
   * period without building every series (entries()).
   */
  changedSince (seen: Int32Array): boolean {
    const used = Atomics.load(this.#header, USED);
    let changed = seen[0] !== used;
    seen[0] = used;
    const halves = this.#halves;
    for (let i = 0; i < 2 * used; i++) {
      const v = Atomics.load(halves, i);
      if (v !== seen[i + 1]) { seen[i + 1] = v; changed = true; }
    }
    return changed;
  }

  #slot (key: string): number {
    const cached = this.#index.get(key);
    if (cached !== undefined) return cached;
    const encoded = Buffer.from(key, 'utf8');
    // A series too long for its slot, like a full table, is dropped rather than failing a handshake.
    if (encoded.length >= KEY_BYTES) return -1;
    this.#lock.acquire();
    try {
      this.#sync();
      const found = this.#index.get(key);
      if (found !== undefined) return found;
      const used = this.#header[USED];
      if (used >= this.#header[CAPACITY]) return -1;
      const at = this.#keyOffset(used);
      this.#bytes.set(encoded, at);
      this.#bytes[at + encoded.length] = 0;
      Atomics.store(this.#header, USED, used + 1);
      this.#sync();
      return used;
    } finally {
      this.#lock.release();
    }
  }

  /** Learns the series other threads registered since the last look. */
  #sync (): void {
    const used = Atomics.load(this.#header, USED);
    for (let i = this.#series.length; i < used; i++) {
      const at = this.#keyOffset(i);
      const key = Buffer.from(this.#bytes.subarray(at, this.#bytes.indexOf(0, at))).toString('utf8');
      const [family, labels] = JSON.parse(key) as [string, Labels];
      this.#index.set(key, i);
      // Every entries() hands out these same objects.
      this.#series.push({ family, labels: Object.freeze(labels) });
    }
  }

  #keyOffset (i: number): number {
    return HEADER_BYTES + this.#header[CAPACITY] * 8 + i * KEY_BYTES;
  }
}

/**
 * Slots by label tuple, for the per-handshake counters: the series key is built once
 * per tuple, not once per event.
 */
export class CounterFamily {
  #counters: SharedCounters;
  #family: string;
  #labels: readonly string[];
  #slots = new Map<string, number>();

  constructor (counters: SharedCounters, family: string, labels: readonly string[]) {
    this.#counters = counters;
    this.#family = family;
    this.#labels = labels;
  }

  /** The slot of the series with these label values, in the order the family was made with. */
  slot (values: readonly string[]): number {
    const id = values.join('\u0000');
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = this.#counters.slot(this.#family, Object.fromEntries(this.#labels.map((l, i) => [l, values[i]])));
      this.#slots.set(id, slot);
    }
    return slot;
  }

  add (values: readonly string[], n = 1): void {
    this.#counters.addAt(this.slot(values), n);
  }

  set (values: readonly string[], n: number): void {
    this.#counters.setAt(this.slot(values), n);
  }
}
