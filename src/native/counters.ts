// The layout of the counters the C engine writes itself (DESIGN.md: the engine talks
// through shared memory, counters included), so a handshake whose event the ring had to
// drop is still counted. One BigInt64 block per engine: per frontend the same series
// observe.ts counts for engine node (handshakes by version and method, duration buckets
// and sum, misses by cause, connection errors by stage, sessions stored or refused), then
// the events the ring dropped, then what the Redis tier dropped (c/tier.c). C adds with
// __atomic (c/counters.c); the worker reads with Atomics and adds what is new to the
// process-wide shared counters (runtime/native-counts.ts). Generated into ws_layout.h (layout.ts); the name lists are
// in the order of the C enums (events.h).
import { DURATION_BUCKETS } from '../diagnostics.ts';

export const NC_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
/** enum ws_method; `none` is a full handshake. */
export const NC_METHODS = ['none', 'id', 'ticket', 'stateful_ticket'] as const;
/** enum ws_miss_cause (0: no miss). */
export const NC_MISSES = ['', 'unknown', 'expired', 'wrong_sni', 'unknown_ticket_key', 'ticket_rejected', 'rejected', 'store_error', 'store_timeout'] as const;
/** enum ws_stage */
export const NC_STAGES = ['handshake', 'client_hello', 'timeout', 'backend', 'proxy', 'limit', 'shutdown', 'access'] as const;
export const NC_RESULTS = ['full', 'resumed'] as const;
/** The finite duration buckets, then +Inf. */
export const NC_BUCKETS = DURATION_BUCKETS.length + 1;

/** Word offsets inside one frontend's block. */
export const NC = {
  HANDSHAKES: 0,
  DURATION: NC_VERSIONS.length * NC_METHODS.length,
  MICROS: NC_VERSIONS.length * NC_METHODS.length + NC_RESULTS.length * NC_BUCKETS,
  MISSES: NC_VERSIONS.length * NC_METHODS.length + NC_RESULTS.length * NC_BUCKETS + NC_RESULTS.length,
  ERRORS: NC_VERSIONS.length * NC_METHODS.length + NC_RESULTS.length * NC_BUCKETS + NC_RESULTS.length + NC_MISSES.length,
  STORED: NC_VERSIONS.length * NC_METHODS.length + NC_RESULTS.length * NC_BUCKETS + NC_RESULTS.length + NC_MISSES.length + NC_STAGES.length,
  FRONTEND_WORDS: NC_VERSIONS.length * NC_METHODS.length + NC_RESULTS.length * NC_BUCKETS + NC_RESULTS.length + NC_MISSES.length + NC_STAGES.length + 2,
} as const;
/** WS_MAX_FRONTENDS in c/engine.h. */
export const NC_MAX_FRONTENDS = 16;
/** Engine-wide: events the ring was full for. */
export const NC_DROPPED = NC_MAX_FRONTENDS * NC.FRONTEND_WORDS;
/** enum ws_tier_drop (c/tier.h): what the Redis tier dropped, by kind. */
export const NC_TIER_DROPS = ['lookup', 'publish', 'answer', 'hold'] as const;
/** Engine-wide: the Redis tier's drops, one word per kind. */
export const NC_TIER_DROPPED = NC_DROPPED + 1;
/**
 * Engine-wide, written by the worker, read by the engine: which records it wants in the
 * event ring (RECORD bits). The counters above count every connection all the same; a
 * record nothing logs costs the worker's JS thread a wake-up, a split and a publish.
 * Server failures always go (the worker's pools judge them).
 */
export const NC_RECORDS = NC_TIER_DROPPED + NC_TIER_DROPS.length;
export const NC_WORDS = NC_RECORDS + 1;

/** NC_RECORDS bits: handshakes, sessions stored or refused, then one per error stage (NC_STAGES order). */
export const RECORD = { HANDSHAKE: 1, STORED: 2, ERROR_SHIFT: 8 } as const;

/** Which records the worker's subscribers use (runtime/observe.ts wantedRecords). */
export interface WantedRecords {
  handshake: boolean;
  stored: boolean;
  errors: ReadonlyArray<typeof NC_STAGES[number]>;
}

/** The NC_RECORDS word for `wanted`. */
export function recordMask (wanted: WantedRecords): bigint {
  let mask = (wanted.handshake ? RECORD.HANDSHAKE : 0) | (wanted.stored ? RECORD.STORED : 0);
  for (const stage of wanted.errors) mask |= 1 << (RECORD.ERROR_SHIFT + NC_STAGES.indexOf(stage));
  return BigInt(mask);
}

/** For layout.ts: the constants C compiles against. */
export function counterConstants (): Record<string, number> {
  const out: Record<string, number> = {
    WS_NC_VERSIONS: NC_VERSIONS.length, WS_NC_METHODS: NC_METHODS.length, WS_NC_MISSES: NC_MISSES.length,
    WS_NC_STAGES: NC_STAGES.length, WS_NC_BUCKETS: DURATION_BUCKETS.length, WS_NC_MAX_FRONTENDS: NC_MAX_FRONTENDS,
    WS_NC_DROPPED: NC_DROPPED, WS_NC_RECORDS: NC_RECORDS, WS_NC_WORDS: NC_WORDS,
    WS_NC_TIER_DROPPED: NC_TIER_DROPPED, WS_NC_TIER_DROPS: NC_TIER_DROPS.length,
  };
  for (const [k, v] of Object.entries(RECORD)) out[`WS_RECORD_${k}`] = v;
  for (const [k, v] of Object.entries(NC)) out[`WS_NC_${k}`] = v;
  return out;
}

/** The finite bucket bounds in seconds, as a C initializer. */
export const BUCKET_LIST = `{ ${DURATION_BUCKETS.join(', ')} }`;
