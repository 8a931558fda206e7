// The counters the C engine writes itself (DESIGN.md: the engine talks through shared
// memory, counters included), so a handshake whose event the ring had to drop is still
// counted. One BigInt64 block per engine: per frontend the same series observe.ts counts
// for engine node (handshakes by version and method, duration buckets and sum, misses by
// cause, connection errors by stage, sessions stored or refused), then the events the
// ring dropped. C adds with __atomic (c/conn.c ws_conn_publish); the worker reads with
// Atomics and adds what is new to the process-wide SharedCounters, where `show info` and
// /metrics read every engine's counts as engine node's. The layout below is generated
// into ws_layout.h (layout.ts); the name lists are in the order of the C enums (events.h).
import { DURATION_BUCKETS } from '../runtime/observe.ts';
import type { CounterFamily, SharedCounters } from '../runtime/counters.ts';
import { counterFamily } from '../runtime/worker-stats.ts';

export const NC_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
/** enum ws_method; `none` is a full handshake. */
export const NC_METHODS = ['none', 'id', 'ticket', 'stateful_ticket'] as const;
/** enum ws_miss_cause (0: no miss). */
export const NC_MISSES = ['', 'unknown', 'expired', 'wrong_sni', 'unknown_ticket_key', 'ticket_rejected', 'rejected', 'store_error'] as const;
/** enum ws_stage */
export const NC_STAGES = ['handshake', 'client_hello', 'timeout', 'backend', 'proxy', 'limit', 'shutdown', 'access'] as const;
const RESULTS = ['full', 'resumed'] as const;
/** The finite duration buckets, then +Inf. */
const BUCKETS = DURATION_BUCKETS.length + 1;

/** Word offsets inside one frontend's block. */
export const NC = {
  HANDSHAKES: 0,
  DURATION: NC_VERSIONS.length * NC_METHODS.length,
  MICROS: NC_VERSIONS.length * NC_METHODS.length + RESULTS.length * BUCKETS,
  MISSES: NC_VERSIONS.length * NC_METHODS.length + RESULTS.length * BUCKETS + RESULTS.length,
  ERRORS: NC_VERSIONS.length * NC_METHODS.length + RESULTS.length * BUCKETS + RESULTS.length + NC_MISSES.length,
  STORED: NC_VERSIONS.length * NC_METHODS.length + RESULTS.length * BUCKETS + RESULTS.length + NC_MISSES.length + NC_STAGES.length,
  FRONTEND_WORDS: NC_VERSIONS.length * NC_METHODS.length + RESULTS.length * BUCKETS + RESULTS.length + NC_MISSES.length + NC_STAGES.length + 2,
} as const;
/** WS_MAX_FRONTENDS in c/engine.h. */
export const NC_MAX_FRONTENDS = 16;
/** Engine-wide: events the ring was full for. */
export const NC_DROPPED = NC_MAX_FRONTENDS * NC.FRONTEND_WORDS;
export const NC_WORDS = NC_DROPPED + 1;

/** What a word counts: a family and its label values (observe.ts's order). */
type Target = { family: CounterFamily; values: string[] };

export class NativeCounters {
  /** Handed to the engine (`counters`). */
  readonly values = new BigInt64Array(new SharedArrayBuffer(NC_WORDS * 8));
  readonly #seen = new BigInt64Array(NC_WORDS);
  readonly #targets: Array<Target | undefined> = [];

  /** `frontends`: the engine's frontends, in engine order; `worker`: this thread's index. */
  constructor (counters: SharedCounters, frontends: readonly string[], worker: number) {
    const family = { handshakes: counterFamily(counters, 'handshakes'), duration: counterFamily(counters, 'handshakeDuration'),
      micros: counterFamily(counters, 'handshakeMicros'), misses: counterFamily(counters, 'misses'),
      errors: counterFamily(counters, 'connectionErrors'), stored: counterFamily(counters, 'sessionsStored'),
      dropped: counterFamily(counters, 'eventsDropped') };
    const at = (i: number, target: Target): void => { this.#targets[i] = target; };
    frontends.forEach((name, f) => {
      const base = f * NC.FRONTEND_WORDS;
      NC_VERSIONS.forEach((version, v) => NC_METHODS.forEach((method, m) =>
        at(base + NC.HANDSHAKES + v * NC_METHODS.length + m, { family: family.handshakes, values: [name, m === 0 ? 'full' : 'resumed', method, version] })));
      RESULTS.forEach((result, r) => {
        [...DURATION_BUCKETS.map(String), '+Inf'].forEach((le, b) => at(base + NC.DURATION + r * BUCKETS + b, { family: family.duration, values: [name, result, le] }));
        at(base + NC.MICROS + r, { family: family.micros, values: [name, result] });
      });
      NC_MISSES.forEach((cause, i) => { if (cause) at(base + NC.MISSES + i, { family: family.misses, values: [name, cause] }); });
      NC_STAGES.forEach((stage, i) => at(base + NC.ERRORS + i, { family: family.errors, values: [name, stage] }));
      at(base + NC.STORED, { family: family.stored, values: [name, 'stored'] });
      at(base + NC.STORED + 1, { family: family.stored, values: [name, 'refused'] });
    });
    at(NC_DROPPED, { family: family.dropped, values: [String(worker)] });
  }

  /** Adds what the engine counted since the last call to the shared counters. */
  sync (): void {
    const targets = this.#targets;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i];
      if (!target) continue;
      const now = Atomics.load(this.values, i);
      const delta = now - this.#seen[i];
      if (delta === 0n) continue;
      this.#seen[i] = now;
      target.family.add(target.values, Number(delta));
    }
  }
}

/** For layout.ts: the constants C compiles against. */
export function counterConstants (): Record<string, number> {
  const out: Record<string, number> = {
    WS_NC_VERSIONS: NC_VERSIONS.length, WS_NC_METHODS: NC_METHODS.length, WS_NC_MISSES: NC_MISSES.length,
    WS_NC_STAGES: NC_STAGES.length, WS_NC_BUCKETS: DURATION_BUCKETS.length, WS_NC_MAX_FRONTENDS: NC_MAX_FRONTENDS,
    WS_NC_DROPPED: NC_DROPPED, WS_NC_WORDS: NC_WORDS,
  };
  for (const [k, v] of Object.entries(NC)) out[`WS_NC_${k}`] = v;
  return out;
}

/** The finite bucket bounds in seconds, as a C initializer. */
export const BUCKET_LIST = `{ ${DURATION_BUCKETS.join(', ')} }`;
