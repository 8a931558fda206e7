// The worker's side of the native engine's own counters (native/counters.ts lays them
// out): reads the engine's block with Atomics after each drain and adds what is new to
// the process-wide shared counters under the series observe.ts uses for engine node, so
// `show info`, /metrics and the resumption alert read both engines alike, and a record
// the event ring dropped, or the engine was told not to send (want), is counted all the same.
import { DURATION_BUCKETS } from '../diagnostics.ts';
import { NC, NC_BUCKETS, NC_DROPPED, NC_METHODS, NC_MISSES, NC_RECORDS, NC_RESULTS, NC_STAGES, NC_TIER_DROPPED, NC_TIER_DROPS, NC_VERSIONS, NC_WORDS, recordMask, type WantedRecords } from '../native/counters.ts';
import type { EngineCounts } from '../native/engine.ts';
import type { CounterFamily, SharedCounters } from './counters.ts';
import { counterFamily } from './worker-stats.ts';

/** What a word counts: a family and its label values (observe.ts's order). */
type Target = { family: CounterFamily; values: string[] };

export class NativeCounts implements EngineCounts {
  /** Handed to the engine (`counters`). */
  readonly values = new BigInt64Array(new SharedArrayBuffer(NC_WORDS * 8));
  readonly #seen = new BigInt64Array(NC_WORDS);
  /**
   * The same words as 32-bit halves: sync compares these, so a word that did not change
   * costs no BigInt (each Atomics.load of a BigInt64Array allocates one), and a quiet
   * worker's beat allocates nothing.
   */
  readonly #now32 = new Int32Array(this.values.buffer);
  readonly #seen32 = new Int32Array(this.#seen.buffer);
  readonly #targets: Array<Target | undefined> = [];
  /** Each word's series slot once its first count registered it (-2: not yet). */
  readonly #slots = new Int32Array(NC_WORDS).fill(-2);
  readonly #counters: SharedCounters;

  /** `frontends`: the engine's frontends, in engine order; `worker`: this thread's index. */
  constructor (counters: SharedCounters, frontends: readonly string[], worker: number) {
    this.#counters = counters;
    const family = { handshakes: counterFamily(counters, 'handshakes'), duration: counterFamily(counters, 'handshakeDuration'),
      micros: counterFamily(counters, 'handshakeMicros'), misses: counterFamily(counters, 'misses'),
      errors: counterFamily(counters, 'connectionErrors'), stored: counterFamily(counters, 'sessionsStored'),
      dropped: counterFamily(counters, 'eventsDropped'), tierDropped: counterFamily(counters, 'redisDropped') };
    const at = (i: number, target: Target): void => { this.#targets[i] = target; };
    frontends.forEach((name, f) => {
      const base = f * NC.FRONTEND_WORDS;
      NC_VERSIONS.forEach((version, v) => NC_METHODS.forEach((method, m) =>
        at(base + NC.HANDSHAKES + v * NC_METHODS.length + m, { family: family.handshakes, values: [name, m === 0 ? 'full' : 'resumed', method, version] })));
      NC_RESULTS.forEach((result, r) => {
        [...DURATION_BUCKETS.map(String), '+Inf'].forEach((le, b) => at(base + NC.DURATION + r * NC_BUCKETS + b, { family: family.duration, values: [name, result, le] }));
        at(base + NC.MICROS + r, { family: family.micros, values: [name, result] });
      });
      NC_MISSES.forEach((cause, i) => { if (cause) at(base + NC.MISSES + i, { family: family.misses, values: [name, cause] }); });
      NC_STAGES.forEach((stage, i) => at(base + NC.ERRORS + i, { family: family.errors, values: [name, stage] }));
      at(base + NC.STORED, { family: family.stored, values: [name, 'stored'] });
      at(base + NC.STORED + 1, { family: family.stored, values: [name, 'refused'] });
    });
    at(NC_DROPPED, { family: family.dropped, values: [String(worker)] });
    NC_TIER_DROPS.forEach((kind, i) => at(NC_TIER_DROPPED + i, { family: family.tierDropped, values: [String(worker), kind] }));
  }

  /** Tells the engine which records to put in its event ring from now on (it reads the word per record). */
  want (wanted: WantedRecords): void {
    Atomics.store(this.values, NC_RECORDS, recordMask(wanted));
  }

  /** Adds what the engine counted since the last call to the shared counters. */
  sync (): void {
    const targets = this.#targets;
    const now32 = this.#now32;
    const seen32 = this.#seen32;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i];
      if (!target) continue;
      // Either half moved, or the word is mid-write: then the 64-bit load below is the truth.
      if (Atomics.load(now32, 2 * i) === seen32[2 * i] && Atomics.load(now32, 2 * i + 1) === seen32[2 * i + 1]) continue;
      const now = Atomics.load(this.values, i);
      const delta = now - this.#seen[i];
      if (delta === 0n) continue;
      this.#seen[i] = now;
      if (this.#slots[i] === -2) this.#slots[i] = target.family.slot(target.values);
      this.#counters.addAt(this.#slots[i], Number(delta));
    }
  }
}
