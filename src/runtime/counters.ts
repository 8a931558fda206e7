// Counters every thread adds to and the main thread reads without a lock: a
// SharedArrayBuffer holding a table of (name, value) slots. A name is registered once
// (under a short Atomics lock) and each thread caches its slot index, so the hot path
// is a Map lookup and an Atomics.add. Names carry their labels in Prometheus form
// (`warmshake_handshakes_total{frontend="https",...}`), so the exposition is a copy.

const NAME_BYTES = 248;
const SLOT_BYTES = 8 + NAME_BYTES;
// Int32 header: [0] lock, [1] slots used, [2] capacity.
const HEADER_BYTES = 16;
const LOCK = 0;
const USED = 1;
const CAPACITY = 2;

export class SharedCounters {
  #buffer: SharedArrayBuffer;
  #header: Int32Array;
  #values: BigInt64Array;
  #bytes: Uint8Array;
  #index = new Map<string, number>();
  #known = 0;

  private constructor (buffer: SharedArrayBuffer) {
    this.#buffer = buffer;
    this.#header = new Int32Array(buffer, 0, 4);
    const capacity = this.#header[CAPACITY];
    this.#values = new BigInt64Array(buffer, HEADER_BYTES, capacity);
    this.#bytes = new Uint8Array(buffer);
  }

  static create (capacity = 4096): SharedCounters {
    const buffer = new SharedArrayBuffer(HEADER_BYTES + capacity * SLOT_BYTES);
    new Int32Array(buffer, 0, 4)[CAPACITY] = capacity;
    return new SharedCounters(buffer);
  }

  static attach (buffer: SharedArrayBuffer): SharedCounters {
    return new SharedCounters(buffer);
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
    this.#lock();
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
      this.#unlock();
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

  #lock (): void {
    // Held for a few microseconds; a thread that died holding it is broken after 100 ms.
    for (let spins = 0; Atomics.compareExchange(this.#header, LOCK, 0, 1) !== 0; spins++) {
      if (Atomics.wait(this.#header, LOCK, 1, 1) === 'timed-out' && spins > 100) Atomics.store(this.#header, LOCK, 0);
    }
  }

  #unlock (): void {
    Atomics.store(this.#header, LOCK, 0);
    Atomics.notify(this.#header, LOCK, 1);
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
