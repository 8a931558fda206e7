// Runs the fixed-rate cases (rate-cases.ts) for every contender: one server instance
// per (contender, instance kind), its session pools filled once, then each case at each
// rate. Rows whose achieved rate missed the target by more than RATE_TOLERANCE are kept
// in the table but not compared.
import { execFileSync } from 'node:child_process';
import { runBench } from '../src/cli/bench/index.ts';
import { baseSpec } from './compare.ts';
import type { SpecOverrides } from './compare.ts';
import type { BenchContext } from './context.ts';
import { alternate } from './context.ts';
import type { Contender } from './contenders.ts';
import { benchOptions, emit, measure } from './measure.ts';
import type { LoadOptions, Row } from './measure.ts';
import { rateCases, X25519 } from './rate-cases.ts';
import type { Instance, Pool, RateCase } from './rate-cases.ts';
import { startServer } from './servers/index.ts';
import type { RunningServer } from './servers/index.ts';

/** A row counts only if it achieved at least this share of its target rate. */
export const RATE_TOLERANCE = 0.03;
/**
 * The bound on handshakes in flight while measuring: generous, so that a shared
 * machine's scheduling stalls (a few hundred ms) are absorbed rather than dropped, yet
 * bounded, so a server that cannot keep up shows as drops and a missed rate.
 */
export const IN_FLIGHT = 256;
/** Filling is closed-loop: this many handshakes in flight, as fast as it goes. */
const FILL_IN_FLIGHT = 64;
const WARMUP_SECONDS = 2;

/** Sessions stored before measuring, per instance and pool. */
export interface FillPlan { cache: Partial<Record<Pool, number>>; tickets: Partial<Record<Pool, number>>; workers2: Partial<Record<Pool, number>> }

export const FILL: FillPlan = {
  cache: { ids12: 95_000, stateful13: 5_000 },
  tickets: { tickets12: 2_000, tickets13: 2_000 },
  workers2: { ids12: 20_000 }
};
export const QUICK_FILL: FillPlan = {
  cache: { ids12: 1_500, stateful13: 500 },
  tickets: { tickets12: 500, tickets13: 500 },
  workers2: { ids12: 1_000 }
};
/** The plan with `sessions` stored in the cache instance (5% of them TLS 1.3 stateful), for `--fill`. */
export function fillOf (sessions: number, base: FillPlan): FillPlan {
  const stateful = Math.max(1, Math.round(sessions * 0.05));
  return { ...base, cache: { ids12: Math.max(1, sessions - stateful), stateful13: stateful } };
}

/** Room for the fill and what the measured loads add. */
export const CACHE_SIZE = 120_000;

/** How each pool is filled: full handshakes with the load its case will resume with. */
const POOL_LOAD: Record<Pool, Omit<LoadOptions, 'duration'>> = {
  ids12: { tls: '1.2', tickets: false, group: X25519 },
  stateful13: { tls: '1.3', tickets: true, group: X25519 },
  tickets12: { tls: '1.2', tickets: true, group: X25519 },
  tickets13: { tls: '1.3', tickets: true, group: X25519 }
};

function overrides (ctx: BenchContext, instance: Instance): SpecOverrides {
  switch (instance) {
    case 'cache': return { tickets: false, cacheSize: CACHE_SIZE };
    case 'tickets': return { tickets: true, cacheSize: CACHE_SIZE };
    case 'workers2': return { tickets: false, cacheSize: CACHE_SIZE, threads: 2, cpus: ctx.allCpus };
  }
}

function pin (cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

/**
 * Full handshakes until `count` sessions are stored, as fast as the load generator goes:
 * for the fill it may use both cores (nothing is measured), then it goes back to its own.
 */
async function fill (ctx: BenchContext, server: RunningServer, pool: Pool, count: number): Promise<{ sessions: Buffer[]; seconds: number; errors: number }> {
  const spread = ctx.allCpus !== ctx.clientCpus;
  if (spread) pin(ctx.allCpus);
  try {
    const result = await runBench(benchOptions(server.port, {
      ...POOL_LOAD[pool], resume: 0, count, clients: count, collectSessions: true,
      connections: FILL_IN_FLIGHT, duration: 1800, threads: spread ? 2 : 1
    }));
    const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
    return { sessions: result.sessions ?? [], seconds: result.duration, errors };
  } finally {
    if (spread) pin(ctx.clientCpus);
  }
}

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

/** For the smoke test and partial runs: fewer cases, other fills, other rates. */
export interface RateRunOptions { cases?: string[]; fill?: FillPlan; rates?: number[] }

/** Every case for every contender; rows by case id, in run order. */
export async function runFixedRate (ctx: BenchContext, contenders: Contender[], options: RateRunOptions = {}): Promise<RateRun> {
  const cases = rateCases(ctx.quick)
    .filter((c) => options.cases === undefined || options.cases.includes(c.id))
    .map((c) => (options.rates ? { ...c, rates: options.rates } : c));
  const plan = options.fill ?? (ctx.quick ? QUICK_FILL : FILL);
  const rows = new Map<string, Row[]>(cases.map((c) => [c.id, []]));
  const fills: Record<string, string> = {};
  const instances: Instance[] = ['cache', 'tickets', 'workers2'];
  for (const [index, instance] of instances.entries()) {
    const mine = cases.filter((c) => c.instance === instance);
    if (mine.length === 0) continue;
    for (const contender of alternate(contenders, index).filter((c) => instance !== 'workers2' || c.kind === 'warmshake')) {
      const spec = await baseSpec(ctx, `${contender.label.replace(' ', '-')}-${instance}`, {
        ...overrides(ctx, instance), ...(contender.engine ? { engine: contender.engine } : {})
      });
      let server: RunningServer;
      try {
        server = await startServer(contender.kind, spec);
      } catch (err) {
        // One server that cannot start must not cost the others their rows.
        const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 300);
        for (const c of mine) for (const rate of c.rates) rows.get(c.id)!.push(failedRow(contender.label, rate, `did not start: ${message}`));
        continue;
      }
      try {
        const pools = new Map<Pool, Buffer[]>();
        const needed = new Set(mine.map((c) => c.pool));
        for (const [pool, count] of (Object.entries(plan[instance]) as Array<[Pool, number]>).filter(([p]) => needed.has(p))) {
          const f = await fill(ctx, server, pool, count);
          pools.set(pool, f.sessions);
          const line = { bench: 'fill', server: contender.label, instance, pool, asked: count, stored: f.sessions.length, seconds: f.seconds, errors: f.errors };
          console.log(JSON.stringify(line));
          fills[`${contender.label} ${instance} ${pool}`] = `${f.sessions.length} of ${count} in ${f.seconds.toFixed(0)} s${f.errors > 0 ? `, ${f.errors} errors` : ''}`;
        }
        // JIT for warmshake, OpenSSL's and the kernel's caches for all.
        await atRate(server, contender.label, mine[0], mine[0].rates[0], pools, WARMUP_SECONDS);
        for (const c of mine) {
          for (const rate of c.rates) {
            const row = await atRate(server, contender.label, c, rate, pools, ctx.duration);
            const failure = server.failure();
            if (failure !== undefined) row.extra.serverFailure = failure;
            emit(c.id, row);
            rows.get(c.id)!.push(row);
          }
        }
      } catch (err) {
        // A fill or load that failed (the server died, say) fails this server's remaining rows only.
        const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 300);
        for (const c of mine) {
          const have = new Set(rows.get(c.id)!.filter((r) => r.server === contender.label).map((r) => r.extra.rate));
          for (const rate of c.rates.filter((r) => !have.has(r))) rows.get(c.id)!.push(failedRow(contender.label, rate, message));
        }
      } finally {
        await server.stop();
      }
    }
  }
  return { rows, fills };
}
