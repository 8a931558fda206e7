// Samples the cumulative totals once a second in the main thread and keeps two views:
// the samples of the last minutes (a window such as "the last 60 s" is the live totals
// minus the sample taken 60 s ago: exact, not an estimate) and, per frontend, full and
// resumed handshakes per 10 s bucket over the last hour (the stats page's chart).
import { diffTotals, missCount, type Totals } from './totals.ts';

export interface HistoryOptions {
  /** Width of one chart bucket, ms. */
  bucketMs: number;
  /** How far back the chart goes, ms. */
  keepMs: number;
  /** How far back windows can look, ms (the longest window asked for). */
  recentMs: number;
}

export const DEFAULT_HISTORY_OPTIONS: HistoryOptions = Object.freeze({
  bucketMs: 10_000,
  keepMs: 3_600_000,
  recentMs: 120_000,
});

export interface BucketCounts {
  full: number;
  resumed: number;
  /** Offered sessions that did not resume. */
  misses: number;
}

export interface Bucket {
  /** Start of the bucket, ms since the epoch. */
  t: number;
  frontends: Record<string, BucketCounts>;
  evictions: number;
}

/** A window's totals and how much time it really covers (less than asked right after start). */
export type Window = Totals & { spanMs: number };

/** Fixed capacity, oldest dropped first. */
export class Ring<T> {
  #items: (T | undefined)[];
  #start = 0;
  #length = 0;

  constructor (capacity: number) {
    this.#items = new Array<T | undefined>(Math.max(1, capacity));
  }

  get length (): number { return this.#length; }

  push (item: T): void {
    const cap = this.#items.length;
    this.#items[(this.#start + this.#length) % cap] = item;
    if (this.#length < cap) this.#length++;
    else this.#start = (this.#start + 1) % cap;
  }

  /** 0 = oldest; negative counts from the newest (-1). */
  at (i: number): T | undefined {
    const j = i < 0 ? this.#length + i : i;
    if (j < 0 || j >= this.#length) return undefined;
    return this.#items[(this.#start + j) % this.#items.length];
  }

  toArray (): T[] {
    return Array.from({ length: this.#length }, (_, i) => this.at(i)!);
  }
}

export class History {
  #read: (at: number) => Totals;
  #options: HistoryOptions;
  #samples: Ring<Totals>;
  #buckets: Ring<Bucket>;

  /** `baseline`: the totals at start (all zero at the moment the counters were created). */
  constructor (read: (at: number) => Totals, baseline: Totals, options: Partial<HistoryOptions> = {}) {
    this.#read = read;
    this.#options = { ...DEFAULT_HISTORY_OPTIONS, ...options };
    // One sample a second; a slow event loop only makes them sparser, never wrong.
    this.#samples = new Ring(Math.ceil(this.#options.recentMs / 1000) + 2);
    this.#buckets = new Ring(Math.ceil(this.#options.keepMs / this.#options.bucketMs) + 1);
    this.#samples.push(baseline);
  }

  get options (): HistoryOptions { return this.#options; }

  /** Reads the totals now, files the change since the previous sample in its bucket. */
  sample (now = Date.now()): Totals {
    const current = this.#read(now);
    const previous = this.#samples.at(-1)!;
    this.#samples.push(current);
    const t = Math.floor(now / this.#options.bucketMs) * this.#options.bucketMs;
    let bucket = this.#buckets.at(-1);
    // A quiet second (TotalsReader gave the same figures) adds nothing to a bucket that exists.
    if (bucket?.t === t && current.frontends === previous.frontends && current.cache === previous.cache) return current;
    const d = diffTotals(current, previous);
    if (!bucket || bucket.t !== t) {
      bucket = { t, frontends: {}, evictions: 0 };
      this.#buckets.push(bucket);
    }
    bucket.evictions += d.cache.evictions;
    for (const [name, f] of Object.entries(d.frontends)) {
      const b = (bucket.frontends[name] ??= { full: 0, resumed: 0, misses: 0 });
      b.full += f.full;
      b.resumed += f.resumed;
      b.misses += missCount(f);
    }
    return current;
  }

  /**
   * What happened over the last `ms`: the totals now minus the newest sample at least
   * `ms` old (or the oldest kept, when the process is younger than that).
   */
  window (ms: number, now = Date.now(), current: Totals = this.#read(now)): Window {
    let base = this.#samples.at(0)!;
    for (let i = this.#samples.length - 1; i >= 0; i--) {
      const s = this.#samples.at(i)!;
      if (s.at <= now - ms) { base = s; break; }
    }
    return { ...diffTotals(current, base), spanMs: now - base.at };
  }

  /** Chart buckets of the last hour, oldest first. */
  buckets (now = Date.now()): Bucket[] {
    const from = now - this.#options.keepMs;
    return this.#buckets.toArray().filter((b) => b.t >= from);
  }
}
