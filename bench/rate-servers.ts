// The servers of the fixed-rate run: each (contender, instance) started with the shared
// spec and its session pools stored by full handshakes, then all of them left to settle
// before anything is measured. A closed-loop fill drives a server flat out on both
// cores for a minute; what it leaves behind (pending frees, GC, the kernel's TIME_WAIT
// sockets of 100k connections and as many backend connects) must not be charged to the
// first rows measured after it, so every server waits until every one is idle.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBench } from '../src/cli/bench/index.ts';
import { baseSpec } from './compare.ts';
import type { SpecOverrides } from './compare.ts';
import type { BenchContext } from './context.ts';
import type { Contender } from './contenders.ts';
import { cpuBetween, sampleCpu } from './cpu.ts';
import { benchOptions } from './measure.ts';
import type { LoadOptions } from './measure.ts';
import { X25519 } from './rate-cases.ts';
import type { Instance, Pool, RateCase } from './rate-cases.ts';
import { startServer } from './servers/index.ts';
import type { RunningServer } from './servers/index.ts';

/** Filling is closed-loop: this many handshakes in flight, as fast as it goes. */
const FILL_IN_FLIGHT = 64;

export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 300);

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

/**
 * Session lifetime, seconds, for every server: the first instance is filled ~5 minutes
 * before the first round and the last round ends ~15 minutes later, so the default 300 s
 * would expire the first pools mid-run (full handshakes counted as resumed ones).
 */
export const LIFETIME = 3600;

function overrides (ctx: BenchContext, instance: Instance): SpecOverrides {
  switch (instance) {
    case 'cache': return { tickets: false, cacheSize: CACHE_SIZE, lifetime: LIFETIME };
    case 'tickets': return { tickets: true, cacheSize: CACHE_SIZE, lifetime: LIFETIME };
    case 'workers2': return { tickets: false, cacheSize: CACHE_SIZE, lifetime: LIFETIME, threads: 2, cpus: ctx.allCpus };
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

/** A started and filled server of one instance, kept running for every round. */
export interface Live { label: string; instance: Instance; server: RunningServer; pools: Map<Pool, Buffer[]>; cases: RateCase[] }

/** Starts one contender's server for `instance` and stores its pools; why not, when it cannot. */
export async function startAndFill (ctx: BenchContext, contender: Contender, instance: Instance, mine: RateCase[], plan: FillPlan, fills: Record<string, string>): Promise<Live | string> {
  const spec = await baseSpec(ctx, `${contender.label.replace(' ', '-')}-${instance}`, {
    ...overrides(ctx, instance), ...(contender.engine ? { engine: contender.engine } : {})
  });
  let server: RunningServer;
  try {
    server = await startServer(contender.kind, spec);
  } catch (err) {
    return `did not start: ${messageOf(err)}`;
  }
  try {
    const pools = new Map<Pool, Buffer[]>();
    const needed = new Set(mine.map((c) => c.pool));
    for (const [pool, count] of (Object.entries(plan[instance]) as Array<[Pool, number]>).filter(([p]) => needed.has(p))) {
      const f = await fill(ctx, server, pool, count);
      pools.set(pool, f.sessions);
      console.log(JSON.stringify({ bench: 'fill', server: contender.label, instance, pool, asked: count, stored: f.sessions.length, seconds: f.seconds, errors: f.errors }));
      fills[`${contender.label} ${instance} ${pool}`] = `${f.sessions.length} of ${count} in ${f.seconds.toFixed(0)} s${f.errors > 0 ? `, ${f.errors} errors` : ''}`;
    }
    return { label: contender.label, instance, server, pools, cases: mine };
  } catch (err) {
    await server.stop();
    return messageOf(err);
  }
}

/** A server is idle below this CPU (µs per second: 0.5% of a core; idle ones use ~1.5 ms/s). */
const IDLE_US_PER_S = 5_000;
/** Settling gives up after this long (and says so): a server busy on its own is a finding, not a reason to hang. */
const SETTLE_MAX_S = 90;

/** Sockets in TIME_WAIT on the machine (all of them: other users' too). */
function timeWait (): number | undefined {
  try { return Number(/\btw (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'))?.[1]); } catch { return undefined; }
}

/**
 * Waits, one second at a time, until every server used less than IDLE_US_PER_S in the
 * last second (or SETTLE_MAX_S passed); prints each second's figures as a JSON line
 * and returns a note for the report.
 */
export async function settle (lives: readonly Live[]): Promise<string> {
  const started = performance.now();
  for (;;) {
    const before = lives.map((l) => sampleCpu([l.server.pid]));
    await sleep(1000);
    const usPerS = lives.map((l, i) => {
      const u = cpuBetween(before[i], sampleCpu([l.server.pid]));
      return Math.round(u.wallUs > 0 ? (u.cpuUs / u.wallUs) * 1e6 : 0);
    });
    const seconds = Math.round((performance.now() - started) / 1000);
    const each = Object.fromEntries(lives.map((l, i) => [`${l.label} ${l.instance}`, usPerS[i]]));
    console.log(JSON.stringify({ bench: 'settle', seconds, timeWait: timeWait(), cpuUsPerSecond: each }));
    const busy = lives.filter((_, i) => usPerS[i] >= IDLE_US_PER_S);
    if (busy.length === 0 || seconds >= SETTLE_MAX_S) {
      const figures = lives.map((l, i) => `${l.label} ${l.instance} ${(usPerS[i] / 1000).toFixed(1)}`).join(', ');
      return `${busy.length === 0 ? 'all idle' : `gave up waiting, still busy: ${busy.map((l) => `${l.label} ${l.instance}`).join(', ')}`} ${seconds} s after the last fill; CPU ms/s in the last second: ${figures}`;
    }
  }
}
