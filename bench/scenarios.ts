// The comparisons of issue 7, in the order they run. Each one: the same certificate,
// cache size (100,000), lifetime (300 s), thread count and backend for warmshake,
// HAProxy and nginx; one server at a time on the server core; the load generator on
// the other. The figure that matters most is server CPU per handshake: the load
// generator (Node's TLS client on one core) is often slower than the servers, and then
// handshakes/s measure the client, while CPU per handshake still measures the server.
import { compareServers, warmUp, withServer } from './compare.ts';
import type { BenchContext, Column, RatioSpec, Scenario, ScenarioReport } from './context.ts';
import { alternate } from './context.ts';
import { cpuBetween, perHandshakeUs, sampleCpu } from './cpu.ts';
import { fleetScenario } from './fleet.ts';
import { emit, measure } from './measure.ts';
import type { LoadOptions, Row } from './measure.ts';
import { memoryScenario } from './memory-fill.ts';
import { roamingScenario } from './roaming.ts';
import { sTimeScenario } from './s-time.ts';
import type { SpecOverrides } from './compare.ts';

export const THROUGHPUT_COLUMNS: Column[] = [
  { key: 'server', title: 'server' },
  { key: 'handshakesPerSecond', title: 'handshakes/s' },
  { key: 'resumedPct', title: 'resumed % (of offered)' },
  { key: 'cpuUsPerHandshake', title: 'server CPU µs/handshake' },
  { key: 'serverCpuPct', title: 'server CPU %' },
  { key: 'clientCpuPct', title: 'client CPU %' },
  { key: 'p50Ms', title: 'p50 ms' },
  { key: 'p99Ms', title: 'p99 ms' },
  { key: 'errors', title: 'errors' }
];

const CPU_RATIO: RatioSpec = { key: 'cpuUsPerHandshake', lowerIsBetter: true, title: 'CPU per handshake' };
const RATE_RATIO: RatioSpec = { key: 'handshakesPerSecond', lowerIsBetter: false, title: 'handshakes/s' };
const CONNECTIONS = 32;

function describe (overrides: SpecOverrides, load: LoadOptions, rsa = false): string {
  const parts = [
    `TLS ${load.tls ?? 'any'}`,
    `${rsa ? 'RSA-2048' : 'ECDSA P-256'} certificate`,
    `${overrides.threads ?? 1} thread(s)`,
    `server tickets ${overrides.tickets === false ? 'off' : 'on'}`,
    `client ${load.tickets === false ? 'without' : 'with'} the ticket extension`,
    `--resume ${load.resume ?? 0}`,
    `${load.connections ?? CONNECTIONS} connections`,
    `${load.duration} s`
  ];
  return parts.join(', ');
}

function comparison (id: string, title: string, overrides: (ctx: BenchContext) => SpecOverrides, load: Omit<LoadOptions, 'duration'>, notes: string[] = []): Scenario {
  return {
    id,
    title,
    async run (ctx, index): Promise<ScenarioReport> {
      const o = overrides(ctx);
      const l: LoadOptions = { connections: CONNECTIONS, clients: 1000, ...load, duration: ctx.duration };
      const rows = await compareServers(ctx, id, index, o, l);
      return { id, title, setup: describe(o, l, o.cert === ctx.certs.rsa.cert), columns: THROUGHPUT_COLUMNS, rows, ratios: [CPU_RATIO, RATE_RATIO], notes };
    }
  };
}

/** warmshake alone, then with the Redis tier, then HAProxy as the anchor; Redis's own CPU is reported apart. */
const redisTier: Scenario = {
  id: 'redis-tier',
  title: 'warmshake with the Redis tier on (TLS 1.2 ids, half new sessions)',
  async run (ctx, index): Promise<ScenarioReport> {
    const url = await ctx.redis();
    const load: LoadOptions = { tls: '1.2', tickets: false, resume: 0.5, connections: CONNECTIONS, clients: 1000, duration: ctx.duration };
    const variants: Array<{ kind: 'warmshake' | 'haproxy' | 'nginx'; redis: boolean }> = [{ kind: 'warmshake', redis: false }];
    if (url) variants.push({ kind: 'warmshake', redis: true });
    for (const kind of ctx.servers) if (kind !== 'warmshake') variants.push({ kind, redis: false });
    const rows: Row[] = [];
    for (const v of alternate(variants, index)) {
      const overrides: SpecOverrides = { tickets: false, ...(v.redis && url ? { redis: { url, keyFile: ctx.redisKeyFile } } : {}) };
      const row = await withServer(ctx, v.kind, overrides, async (server) => {
        await warmUp(server, load);
        const redisPid = ctx.redisPid();
        const before = redisPid ? sampleCpu([redisPid]) : undefined;
        const { row } = await measure(server, load);
        if (v.redis && before && redisPid) {
          row.extra.redisCpuUsPerHandshake = perHandshakeUs(cpuBetween(before, sampleCpu([redisPid])), row.handshakes);
        }
        return row;
      });
      emit('redis-tier', row);
      rows.push(row);
    }
    const notes = [
      'Redis runs on the load generator\'s core; its CPU is not in the server column but in `redis CPU µs/handshake`.',
      'On one node every resumption is a shared-memory hit: the Redis tier costs a sealed write per new session here; Redis-tier hits are in the roaming scenario.'
    ];
    if (!url) notes.push('redis-server is not installed: the Redis variant was skipped.');
    return {
      id: 'redis-tier', title: this.title,
      setup: describe({ tickets: false }, load),
      columns: [...THROUGHPUT_COLUMNS, { key: 'extra.redisCpuUsPerHandshake', title: 'redis CPU µs/handshake' }],
      rows, ratios: [CPU_RATIO, { ...CPU_RATIO, server: 'warmshake+redis' }], notes
    };
  }
};

const TWO_THREADS_NOTE = 'Two server threads on both cores while the load generator needs one of them: on a 2-core machine the client is the limit, so this shows CPU per handshake with 2 threads (contention, locks) rather than scaling; see the target line.';

export function scenarios (): Scenario[] {
  return [
    comparison('tls12-full', 'TLS 1.2 full handshakes (ECDSA P-256)', () => ({}), { tls: '1.2', resume: 0 }),
    comparison('tls12-full-rsa', 'TLS 1.2 full handshakes (RSA-2048)', (ctx) => ({ ...ctx.certs.rsa }), { tls: '1.2', resume: 0 }),
    comparison('tls12-ids', 'TLS 1.2 resumed by session id', () => ({}), { tls: '1.2', resume: 1, tickets: false }),
    comparison('tls12-tickets', 'TLS 1.2 resumed by ticket', () => ({}), { tls: '1.2', resume: 1, tickets: true }),
    comparison('tls13-tickets', 'TLS 1.3 resumed by (stateless) ticket', () => ({}), { tls: '1.3', resume: 1, tickets: true }),
    comparison('tls13-stateful', 'TLS 1.3 resumed by stateful ticket (server tickets off)', () => ({ tickets: false }), { tls: '1.3', resume: 1, tickets: true }),
    comparison('tls12-ids-2-threads', 'TLS 1.2 resumed by session id, 2 threads', (ctx) => ({ threads: 2, cpus: ctx.allCpus }), { tls: '1.2', resume: 1, tickets: false }, [TWO_THREADS_NOTE]),
    comparison('tls13-tickets-2-threads', 'TLS 1.3 resumed by ticket, 2 threads', (ctx) => ({ threads: 2, cpus: ctx.allCpus }), { tls: '1.3', resume: 1, tickets: true }, [TWO_THREADS_NOTE]),
    memoryScenario,
    redisTier,
    roamingScenario,
    fleetScenario,
    sTimeScenario
  ];
}
