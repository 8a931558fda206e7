// Runs the fixed-rate cases (rate-cases.ts) for every contender: one server instance
// per (contender, instance kind), all started, filled and settled first
// (rate-servers.ts), then measured in rounds: each round every case at each rate on
// every server, the report taking the median over rounds (rounds.ts). Rows whose
// achieved rate missed the target by more than RATE_TOLERANCE are kept in the table
// but not compared.
import type { BenchContext } from './context.ts';
import { alternate } from './context.ts';
import type { Contender } from './contenders.ts';
import { emit, measure } from './measure.ts';
import type { LoadOptions, Row } from './measure.ts';
import { rateCases } from './rate-cases.ts';
import type { Pool, RateCase } from './rate-cases.ts';
import { FILL, messageOf, QUICK_FILL, settle, startAndFill } from './rate-servers.ts';
import type { FillPlan, Live } from './rate-servers.ts';
import type { RunningServer } from './servers/index.ts';

/** A row counts only if it achieved at least this share of its target rate. */
export const RATE_TOLERANCE = 0.03;
/**
 * The bound on handshakes in flight while measuring: generous, so that a shared
 * machine's scheduling stalls (a few hundred ms) are absorbed rather than dropped, yet
 * bounded, so a server that cannot keep up shows as drops and a missed rate.
 */
export const IN_FLIGHT = 256;
const WARMUP_SECONDS = 2;

function topGroup (groups: Record<string, number>): string {
  const entries = Object.entries(groups).sort((a, b) => b[1] - a[1]);
  return entries.map(([g, n]) => (entries.length > 1 ? `${g} ${n}` : g)).join(', ') || '—';
}

/** One case at one rate; the pool is replaced by the sessions the clients hold afterwards (TLS 1.3 stateful tickets are single-use). */
async function atRate (server: RunningServer, label: string, c: RateCase, rate: number, pools: Map<Pool, Buffer[]>, duration: number): Promise<Row> {
  const sessions = c.pool ? pools.get(c.pool) ?? [] : [];
  const load: LoadOptions = {
    ...c.load, rate, connections: IN_FLIGHT, duration,
    ...(c.pool ? { sessions, clients: Math.max(1, sessions.length), collectSessions: true } : { clients: 1000 })
  };
  const { row, result } = await measure(server, load);
  if (c.pool && result.sessions) pools.set(c.pool, result.sessions);
  row.server = label;
  const achievedShare = result.handshakesPerSecond / rate;
  Object.assign(row.extra, {
    rate,
    dropped: result.dropped,
    group: topGroup(result.groups),
    pool: sessions.length || undefined,
    valid: achievedShare >= 1 - RATE_TOLERANCE
  });
  return row;
}

function failedRow (server: string, rate: number, why: string): Row {
  return {
    server, handshakes: 0, handshakesPerSecond: 0, resumedPct: 0, resumedOfAllPct: 0, cpuUsPerHandshake: 0,
    serverCpuPct: 0, p50Ms: 0, p99Ms: 0, errors: 0, extra: { rate, valid: false, serverFailure: why }
  };
}

export interface RateRun { rows: Map<string, Row[]>; fills: Record<string, string> }

/** For the smoke test and partial runs: fewer cases, other fills, other rates, rounds. */
export interface RateRunOptions { cases?: string[]; fill?: FillPlan; rates?: number[]; rounds?: number }

/** Default rounds: the median of 3 outvotes one disturbed window; a --quick smoke run measures once. */
export const ROUNDS = { full: 3, quick: 1 };

/**
 * Every case for every contender; rows by case id, one per (server, rate, round), each
 * with `extra.round`. Every server of every instance is started and filled first and
 * kept running (an idle server costs its neighbours next to nothing), then each round
 * measures every case × rate × server, the order of servers and of cases rotating from
 * round to round, so that what comes first (or right after a neighbour's burst) is not
 * always the same server.
 */
export async function runFixedRate (ctx: BenchContext, contenders: Contender[], options: RateRunOptions = {}): Promise<RateRun> {
  const cases = rateCases(ctx.quick)
    .filter((c) => options.cases === undefined || options.cases.includes(c.id))
    .map((c) => (options.rates ? { ...c, rates: options.rates } : c));
  const plan = options.fill ?? (ctx.quick ? QUICK_FILL : FILL);
  const rounds = options.rounds ?? (ctx.quick ? ROUNDS.quick : ROUNDS.full);
  const rows = new Map<string, Row[]>(cases.map((c) => [c.id, []]));
  const fills: Record<string, string> = {};
  const lives: Live[] = [];
  const failAll = (label: string, mine: RateCase[], why: string): void => {
    for (let round = 1; round <= rounds; round++) {
      for (const c of mine) {
        for (const rate of c.rates) {
          const row = failedRow(label, rate, why);
          row.extra.round = round;
          rows.get(c.id)!.push(row);
        }
      }
    }
  };
  try {
    const instances: Array<Live['instance']> = ['cache', 'tickets', 'workers2'];
    for (const [index, instance] of instances.entries()) {
      const mine = cases.filter((c) => c.instance === instance);
      if (mine.length === 0) continue;
      for (const contender of alternate(contenders, index).filter((c) => instance !== 'workers2' || c.kind === 'warmshake')) {
        const live = await startAndFill(ctx, contender, instance, mine, plan, fills);
        if (typeof live === 'string') failAll(contender.label, mine, live);
        else lives.push(live);
      }
    }
    fills.settled = await settle(lives);
    // JIT for warmshake, OpenSSL's and the kernel's caches for all: once, since every server stays up.
    for (const live of lives) {
      const first = live.cases[0];
      await atRate(live.server, live.label, first, first.rates[0], live.pools, WARMUP_SECONDS).catch(() => undefined);
    }
    for (let round = 1; round <= rounds; round++) {
      for (const [ci, c] of alternate(cases, round - 1).entries()) {
        for (const [ri, rate] of c.rates.entries()) {
          for (const live of alternate(lives.filter((l) => l.instance === c.instance), round - 1 + ci + ri)) {
            let row: Row;
            try {
              row = await atRate(live.server, live.label, c, rate, live.pools, ctx.duration);
            } catch (err) {
              // A load that failed (the server died, say) fails this row only; a dead server fails each of its rows fast.
              row = failedRow(live.label, rate, messageOf(err));
            }
            const failure = live.server.failure();
            if (failure !== undefined) row.extra.serverFailure = failure;
            row.extra.round = round;
            emit(c.id, row);
            rows.get(c.id)!.push(row);
          }
        }
      }
    }
  } finally {
    for (const live of lives) await live.server.stop();
  }
  return { rows, fills };
}
