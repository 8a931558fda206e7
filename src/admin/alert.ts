// `resumption_alert_below`: a warning when returning clients (those that offered a
// session) mostly get full handshakes for a minute, naming the likely cause from the
// miss counters and the cache's stats. Pure: the caller feeds it one window per tick
// and logs what it returns.

export interface AlertOptions {
  /** The window the ratio is measured over, ms. */
  windowMs: number;
  /** Fewer offered sessions than this in the window mean nothing either way. */
  minOffered: number;
  /** While it lasts, the warning is repeated at most this often, ms. */
  repeatMs: number;
}

export const DEFAULT_ALERT_OPTIONS: AlertOptions = Object.freeze({
  windowMs: 60_000,
  minOffered: 20,
  repeatMs: 300_000,
});

/** One frontend over one window. */
export interface AlertInput {
  frontend: string;
  /** resumption_alert_below; 0 disables. */
  threshold: number;
  full: number;
  resumed: number;
  /** Offered sessions that did not resume, by cause (diagnostics MissCause). */
  misses: Record<string, number>;
  /** Cache evictions and expirations in the window (the cache is shared by all frontends). */
  evictions: number;
  expired: number;
  /** How much time the window covers, ms. */
  spanMs: number;
}

export interface AlertState {
  below: boolean;
  /** When it went below, ms since the epoch. */
  since?: number;
  lastWarned?: number;
  /** The last ratio measured and what it was measured on. */
  ratio?: number;
  cause?: string;
  message?: string;
}

export interface AlertLog {
  level: 'warn' | 'info';
  msg: string;
  fields: Record<string, unknown>;
}

export interface AlertDecision {
  state: AlertState;
  log?: AlertLog;
}

export interface Cause {
  /** Stable name (logs, metrics): evictions, expired, not_found, redis, ticket_keys, wrong_sni, rejected, no_offer. */
  cause: string;
  advice: string;
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

/** The likeliest reason returning clients get full handshakes, from the biggest miss cause. */
export function likelyCause (input: AlertInput, options: AlertOptions = DEFAULT_ALERT_OPTIONS): Cause {
  const offered = input.resumed + sum(input.misses);
  if (offered < options.minOffered) {
    return { cause: 'no_offer', advice: `clients do not offer resumption (${offered} of ${input.full + input.resumed} handshakes offered a session): check that clients keep and reuse their sessions or tickets` };
  }
  const [top, n] = Object.entries(input.misses).sort((a, b) => b[1] - a[1])[0] ?? ['unknown', 0];
  switch (top) {
    case 'expired':
      return { cause: 'expired', advice: `session lifetime too short (${n} misses on expired sessions): raise session_cache.lifetime` };
    case 'store_timeout':
    case 'store_error': {
      const r = (input.misses.store_timeout ?? 0) + (input.misses.store_error ?? 0);
      return { cause: 'redis', advice: `Redis tier errors/timeouts (${r} misses): check session_cache.redis, its latency and the breaker` };
    }
    case 'unknown_ticket_key':
      return { cause: 'ticket_keys', advice: `ticket keys not shared or rotated out (${n} tickets under an unknown key): share tickets.key_file or the Redis tier between nodes, or raise tickets.keep` };
    case 'wrong_sni':
      return { cause: 'wrong_sni', advice: `clients resume under another server name (${n} misses): a session resumes only under the SNI it was made for` };
    case 'rejected':
    case 'ticket_rejected':
      return { cause: 'rejected', advice: `OpenSSL refused ${n} offered sessions: cipher, version or certificate changed` };
    default:
      // A session that is not found was evicted (cache too small) or never stored.
      if (input.evictions > 0) {
        return { cause: 'evictions', advice: `cache too small (${input.evictions} evictions in the last ${Math.round(input.spanMs / 1000)} s): raise session_cache.size` };
      }
      return { cause: 'not_found', advice: `sessions not found (${n} misses, no evictions): not stored (too large, per-client limit) or made on a node that does not share the Redis tier` };
  }
}

/**
 * One step: the state after this window and, if something changed, the line to log.
 * Too few handshakes leave the state as it was.
 */
export function decideAlert (prev: AlertState, input: AlertInput, now: number, options: AlertOptions = DEFAULT_ALERT_OPTIONS): AlertDecision {
  if (input.threshold <= 0 || input.spanMs < options.windowMs) return { state: prev };
  const missed = sum(input.misses);
  const offered = input.resumed + missed;
  const all = input.full + input.resumed;
  let ratio: number;
  if (offered >= options.minOffered) ratio = input.resumed / offered;
  else if (all >= options.minOffered) ratio = input.resumed / all; // nobody offers anything
  else return { state: prev };

  const fields = { frontend: input.frontend, ratio: Math.round(ratio * 1000) / 1000, threshold: input.threshold, handshakes: all, offered, resumed: input.resumed, misses: input.misses, evictions: input.evictions, expired: input.expired };
  if (ratio < input.threshold) {
    const { cause, advice } = likelyCause(input, options);
    const state: AlertState = { below: true, since: prev.below ? prev.since : now, lastWarned: prev.lastWarned, ratio, cause, message: advice };
    const due = !prev.below || prev.lastWarned === undefined || now - prev.lastWarned >= options.repeatMs;
    if (!due) return { state };
    state.lastWarned = now;
    const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;
    const who = offered >= options.minOffered ? 'returning clients' : 'all clients';
    return { state, log: { level: 'warn', msg: `resumption ratio of ${who} on ${input.frontend} is ${pct(ratio)} (below ${pct(input.threshold)}): ${advice}`, fields: { ...fields, cause } } };
  }
  if (prev.below) {
    return { state: { below: false, ratio }, log: { level: 'info', msg: `resumption ratio on ${input.frontend} recovered to ${Math.round(ratio * 1000) / 10}%`, fields: { ...fields, belowFor: now - (prev.since ?? now) } } };
  }
  return { state: { below: false, ratio } };
}
