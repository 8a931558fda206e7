// A client loop for the scenarios `warmshake bench` does not model: a fixed population of
// client identities (devices), each keeping its own last session, each connection taking
// an identity and a node at random. Used by the roaming scenario (3 nodes) and the
// telemetry-fleet scenario (many identities, one node). One thread: the load generator
// has one core on this machine anyway.
import { handshake } from '../src/cli/handshake.ts';
import type { TlsVersion } from '../src/cli/handshake.ts';

export interface IdentityLoadOptions {
  ports: readonly number[];
  /** Saved sessions by identity; carried from one phase to the next. */
  sessions: (Buffer | undefined)[];
  tls: TlsVersion;
  /** false: no ticket extension (TLS 1.2 resumes by id; TLS 1.3 is up to the server). */
  tickets: boolean;
  connections: number;
  /** 'each': every identity once in order (a warm-up); 'random': identities drawn at random. */
  order: 'each' | 'random';
  /** Connection attempts; the phase also ends at `durationMs`. */
  count: number;
  durationMs: number;
  /** Called once a second with that second's counts; what it returns is added to its entry in `series`. */
  tick?: (entry: SecondEntry) => Record<string, number>;
}

export interface SecondEntry { second: number; handshakes: number; offered: number; resumed: number; [extra: string]: number }

export interface IdentityLoadResult {
  handshakes: number;
  full: number;
  resumed: number;
  offered: number;
  /** resumed / offered, percent. */
  resumedPct: number;
  errors: Record<string, number>;
  elapsedMs: number;
  series: SecondEntry[];
}

const pick = (n: number): number => Math.floor(Math.random() * n);
const pct = (part: number, whole: number): number => (whole > 0 ? Math.round((part / whole) * 10000) / 100 : 0);

export async function runIdentityLoad (o: IdentityLoadOptions): Promise<IdentityLoadResult> {
  const identities = o.sessions.length;
  const errors: Record<string, number> = {};
  const totals = { handshakes: 0, resumed: 0, offered: 0 };
  const second = { handshakes: 0, resumed: 0, offered: 0 };
  const series: SecondEntry[] = [];
  const pending = new Set<Promise<void>>();
  let attempts = 0;
  const started = performance.now();
  const deadline = started + o.durationMs;
  const timer = setInterval(() => {
    const entry: SecondEntry = { second: series.length + 1, ...second };
    series.push({ ...entry, ...o.tick?.(entry) });
    second.handshakes = 0; second.resumed = 0; second.offered = 0;
  }, 1000);

  const connectOnce = async (identity: number): Promise<void> => {
    const session = o.sessions[identity];
    const outcome = await handshake({
      host: '127.0.0.1', port: o.ports[pick(o.ports.length)], servername: 'localhost', tls: o.tls,
      tickets: o.tickets, session, timeoutMs: 5000, ticketWaitMs: 1000, send: 0
    });
    if (!outcome.ok) {
      errors[outcome.error] = (errors[outcome.error] ?? 0) + 1;
      return;
    }
    totals.handshakes++; second.handshakes++;
    if (session !== undefined) {
      totals.offered++; second.offered++;
      if (outcome.resumed) { totals.resumed++; second.resumed++; }
    }
    // A TLS 1.3 ticket comes after the handshake: keep it without holding the lane.
    const kept = outcome.finished.then((after) => { if (after.session) o.sessions[identity] = after.session; });
    pending.add(kept);
    void kept.finally(() => pending.delete(kept));
  };

  const lane = async (): Promise<void> => {
    while (attempts < o.count && performance.now() < deadline) {
      const identity = o.order === 'each' ? attempts % identities : pick(identities);
      attempts++;
      await connectOnce(identity);
    }
  };
  await Promise.all(Array.from({ length: o.connections }, lane));
  const elapsedMs = performance.now() - started;
  clearInterval(timer);
  await Promise.all(pending);
  return {
    ...totals,
    full: totals.handshakes - totals.resumed,
    resumedPct: pct(totals.resumed, totals.offered),
    errors,
    elapsedMs: Math.round(elapsedMs),
    series
  };
}
