// Three nodes of each server behind a client that picks a node at random for every
// connection (the Redis issue's scenario). warmshake's nodes share one Redis (sessions
// and ticket keys); HAProxy's share a `tls-ticket-keys` file and nginx's an
// `ssl_session_ticket_key` file, which is all either can share: their session caches
// stay per node, so id and stateful resumption land on the right node one time in three.
import { randomBytes } from 'node:crypto';
import { baseSpec } from './compare.ts';
import type { BenchContext, Scenario, ScenarioReport } from './context.ts';
import { alternate } from './context.ts';
import { runIdentityLoad } from './identity-load.ts';
import { emit } from './measure.ts';
import type { Row } from './measure.ts';
import { startServer } from './servers/index.ts';
import type { RunningServer, ServerKind } from './servers/index.ts';
import type { TlsVersion } from '../src/cli/handshake.ts';

const NODES = 3;

interface Mode { key: string; title: string; serverTickets: boolean; tls: TlsVersion; clientTickets: boolean }

const MODES: Mode[] = [
  { key: 'ids12', title: 'TLS 1.2 ids (tickets off)', serverTickets: true, tls: '1.2', clientTickets: false },
  { key: 'tickets13', title: 'TLS 1.3 tickets', serverTickets: true, tls: '1.3', clientTickets: true },
  { key: 'stateful13', title: 'TLS 1.3 stateful', serverTickets: false, tls: '1.3', clientTickets: true }
];

async function startNodes (ctx: BenchContext, kind: ServerKind, tickets: boolean, redisUrl: string | undefined): Promise<RunningServer[]> {
  const ticketKeys = [randomBytes(48), randomBytes(48), randomBytes(48)];
  const specs = await Promise.all(Array.from({ length: NODES }, (_, i) => baseSpec(ctx, `${kind}-node${i}`, {
    tickets,
    ticketKeys,
    ...(kind === 'warmshake' && redisUrl ? { redis: { url: redisUrl, keyFile: ctx.redisKeyFile } } : {})
  })));
  const started = await Promise.allSettled(specs.map((spec) => startServer(kind, spec)));
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw (failed as PromiseRejectedResult).reason;
  }
  return nodes;
}

export const roamingScenario: Scenario = {
  id: 'roaming',
  title: '3-node roaming: a client picks a node at random per connection',
  async run (ctx: BenchContext, index: number): Promise<ScenarioReport> {
    const redisUrl = await ctx.redis();
    const identities = ctx.quick ? 100 : 300;
    const rows: Row[] = [];
    for (const kind of alternate(ctx.servers, index)) {
      const extra: Record<string, unknown> = {};
      let handshakes = 0; let errors = 0;
      for (const serverTickets of [true, false]) {
        const nodes = await startNodes(ctx, kind, serverTickets, redisUrl);
        try {
          for (const mode of MODES.filter((m) => m.serverTickets === serverTickets)) {
            const result = await runIdentityLoad({
              ports: nodes.map((n) => n.port), sessions: new Array(identities).fill(undefined),
              tls: mode.tls, tickets: mode.clientTickets, connections: 16, order: 'random',
              count: Number.MAX_SAFE_INTEGER, durationMs: ctx.duration * 1000
            });
            extra[mode.key] = result.resumedPct;
            handshakes += result.handshakes;
            errors += Object.values(result.errors).reduce((a, b) => a + b, 0);
            emit('roaming', { server: kind, mode: mode.key, ...result, series: undefined });
          }
        } finally {
          await Promise.all(nodes.map((n) => n.stop()));
        }
      }
      rows.push({
        server: kind === 'warmshake' && redisUrl ? 'warmshake+redis' : kind,
        handshakes, handshakesPerSecond: 0, resumedPct: 0, resumedOfAllPct: 0, cpuUsPerHandshake: 0,
        serverCpuPct: 0, p50Ms: 0, p99Ms: 0, errors, extra
      });
    }
    const notes = [
      'Resumed % is of the connections that offered a session; a client\'s first connection offers none.',
      `An anchor that cannot share its cache resumes about 1 in ${NODES} (the chance of landing on the node that holds the session).`
    ];
    if (!redisUrl) notes.push('redis-server is not installed: warmshake\'s nodes shared only a ticket-key file.');
    return {
      id: 'roaming', title: this.title,
      setup: `${NODES} nodes per server, all on the server core, 1 thread each; ${identities} client identities, 16 connections, ${ctx.duration} s per mode`,
      columns: [
        { key: 'server', title: 'server' },
        ...MODES.map((m) => ({ key: `extra.${m.key}`, title: `${m.title} resumed %` })),
        { key: 'errors', title: 'errors' }
      ],
      rows,
      ratios: MODES.map((m) => ({ key: `extra.${m.key}`, lowerIsBetter: false, title: m.title })),
      notes
    };
  }
};
