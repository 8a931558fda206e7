// The data blocks of the shared store: fixed-size blocks, each entry's key then value
// written across a chain of them (HAProxy shctx's block rows), free blocks on one list.
// Freed blocks are zeroed at once: an evicted session's master secret must not linger
// in memory that other code may later read or dump (nginx and HAProxy do the same).
// The caller holds the store's lock; nothing here is atomic.
//
// Chains are often runs of adjacent blocks (the free list starts in order, a freed
// chain goes back onto it whole and in order, so sessions of similar sizes keep
// getting runs; mixed sizes scatter them), and the entry remembers how many
// blocks its chain starts with in a row: a lookup then compares and copies straight
// from the data, without first reading the chain links (one memory access less of
// the three a random lookup waits for: bucket, entry, data).
import { H, NONE } from './shm-layout.ts';
import type { Views } from './shm-layout.ts';

/** Longest run an entry records (it packs the run beside the key length in one word). */
export const MAX_RUN = 0x7fff;

export class BlockPool {
  readonly #header: Int32Array;
  readonly #next: Int32Array;
  readonly #data: Uint8Array;
  /** The same bytes as a Buffer: Buffer#copy is the cheapest way out (no subarray). */
  readonly #bytes: Buffer;
  readonly #size: number;
  #run = 0;

  constructor (views: Views, blockBytes: number) {
    this.#header = views.header;
    this.#next = views.blockNext;
    this.#data = views.data;
    this.#bytes = Buffer.from(views.data.buffer, views.data.byteOffset, views.data.byteLength);
    this.#size = blockBytes;
  }

  /** Puts every block on the free list (a fresh or a wiped store). */
  init (): void {
    const next = this.#next;
    const count = next.length;
    for (let i = 0; i < count; i++) next[i] = i + 1 < count ? i + 1 : NONE;
    this.#header[H.FREE_BLOCK] = count > 0 ? 0 : NONE;
    this.#header[H.FREE_BLOCKS] = count;
  }

  /** Zeroes every data byte. */
  wipe (): void {
    this.#data.fill(0);
  }

  get free (): number {
    return this.#header[H.FREE_BLOCKS];
  }

  /** First block of a chain of `n` (>= 1) blocks; the caller made sure `free >= n`. */
  alloc (n: number): number {
    const header = this.#header;
    const next = this.#next;
    const first = header[H.FREE_BLOCK];
    let last = first;
    let run = 1;
    for (let i = 1; i < n; i++) {
      const after = next[last];
      if (run === i && after === last + 1 && run < MAX_RUN) run++;
      last = after;
    }
    header[H.FREE_BLOCK] = next[last];
    next[last] = NONE;
    header[H.FREE_BLOCKS] -= n;
    this.#run = run;
    return first;
  }

  /** How many blocks, from its first, the chain the last `alloc` gave has in a row. */
  get lastRun (): number {
    return this.#run;
  }

  /** Zeroes a chain and returns it to the free list. */
  release (first: number): void {
    const next = this.#next;
    const size = this.#size;
    let count = 1;
    let last = first;
    for (;;) {
      this.#data.fill(0, last * size, last * size + size);
      const after = next[last];
      if (after === NONE) break;
      last = after;
      count++;
    }
    next[last] = this.#header[H.FREE_BLOCK];
    this.#header[H.FREE_BLOCK] = first;
    this.#header[H.FREE_BLOCKS] += count;
  }

  /** Writes `key` then `value` from the start of the chain. */
  write (first: number, key: Uint8Array, value: Uint8Array): void {
    const end = this.#copyIn(first, 0, key);
    this.#copyIn(end.block, end.offset, value);
  }

  /** Whether the chain (`run` adjacent blocks first) starts with exactly `key` (the caller compared lengths). */
  startsWith (first: number, run: number, key: Uint8Array): boolean {
    const data = this.#data;
    const size = this.#size;
    const length = key.length;
    if (length <= run * size) {
      const at = first * size;
      for (let i = 0; i < length; i++) if (data[at + i] !== key[i]) return false;
      return true;
    }
    let block = first;
    let at = block * size;
    let left = size;
    for (let i = 0; i < length; i++) {
      if (left === 0) {
        block = this.#next[block];
        at = block * size;
        left = size;
      }
      if (data[at++] !== key[i]) return false;
      left--;
    }
    return true;
  }

  /** `length` bytes starting `skip` bytes into the chain (`run` adjacent blocks first), as a new Buffer. */
  read (first: number, run: number, skip: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    const bytes = this.#bytes;
    const size = this.#size;
    const start = first * size + skip;
    const runEnd = (first + run) * size;
    if (start + length <= runEnd) {
      bytes.copy(out, 0, start, start + length);
      return out;
    }
    const next = this.#next;
    let pos = 0;
    if (start < runEnd) {
      pos = bytes.copy(out, 0, start, runEnd);
      skip = 0;
    } else {
      skip -= run * size;
    }
    let block = next[first + run - 1];
    while (skip >= size) {
      block = next[block];
      skip -= size;
    }
    while (pos < length) {
      const from = block * size + skip;
      let end = block * size + size;
      let last = block;
      while (end - from < length - pos && next[last] === last + 1) {
        last++;
        end += size;
      }
      const n = Math.min(end - from, length - pos);
      bytes.copy(out, pos, from, from + n);
      pos += n;
      skip = 0;
      block = next[last];
    }
    return out;
  }

  #copyIn (block: number, offset: number, bytes: Uint8Array): { block: number, offset: number } {
    const data = this.#data;
    const size = this.#size;
    let pos = 0;
    while (pos < bytes.length) {
      if (offset === size) {
        block = this.#next[block];
        offset = 0;
      }
      const n = Math.min(size - offset, bytes.length - pos);
      data.set(bytes.subarray(pos, pos + n), block * size + offset);
      pos += n;
      offset += n;
    }
    return { block, offset };
  }
}
