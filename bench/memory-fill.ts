// Memory with the session cache filling up: each server starts with room for 100,000
// sessions and is fed new TLS 1.2 sessions (full handshakes, no tickets, so each one is
// stored). Reported: the process tree's RSS at start and after the fill, and the cache
// segment (reserved size, resident part before and after). A control run of warmshake
// with a 1,000-session cache under the same load tells how much of its RSS growth is the
// load (V8 heap, buffers) rather than the sessions. Filling all 100,000 would take
// minutes per server (the client does a few hundred full handshakes a second on its
// core), so the fill is bounded in time and the segment's resident bytes per session are
// what extrapolates.
import { warmUp, withServer } from './compare.ts';
import type { BenchContext, Scenario, ScenarioReport } from './context.ts';
import { alternate } from './context.ts';
import { emit, measure } from './measure.ts';
import type { LoadOptions, Row } from './measure.ts';
import { cacheSegment, measureMemory } from './memory.ts';
import type { ServerKind } from './servers/index.ts';

const CACHE = 100_000;
const CONTROL_CACHE = 1000;
const SETTLE_MS = 2000;
const mb = (kb: number): number => Math.round((kb / 1024) * 10) / 10;

async function fill (ctx: BenchContext, kind: ServerKind, cacheSize: number, load: LoadOptions, label: string): Promise<Row> {
  return withServer(ctx, kind, { tickets: false, cacheSize }, async (server) => {
    const atStart = measureMemory(server.pid);
    await warmUp(server, { ...load, count: 0 });
    const segmentBefore = cacheSegment(server.pid, kind, cacheSize);
    const { row } = await measure(server, load);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const after = measureMemory(server.pid);
    const segment = cacheSegment(server.pid, kind, cacheSize);
    const perSession = segment && segmentBefore && row.handshakes > 0 ? ((segment.rssKb - segmentBefore.rssKb) * 1024) / row.handshakes : undefined;
    row.server = label;
    Object.assign(row.extra, {
      cache: cacheSize,
      sessionsFilled: row.handshakes,
      rssStartMB: mb(atStart.rssKb),
      rssAfterMB: mb(after.rssKb),
      rssAddedMB: mb(after.rssKb - atStart.rssKb),
      pssAddedMB: mb(after.pssKb - atStart.pssKb),
      segmentMB: segment ? mb(segment.sizeKb) : undefined,
      segmentResidentMB: segment ? mb(segment.rssKb) : undefined,
      segmentBytesPerSession: perSession === undefined ? undefined : Math.round(perSession),
      processes: after.processes
    });
    return row;
  });
}

export const memoryScenario: Scenario = {
  id: 'memory',
  title: 'Memory as the cache fills (room for 100,000 sessions)',
  async run (ctx: BenchContext, index: number): Promise<ScenarioReport> {
    const cap = ctx.quick ? 10 : 30;
    const load: LoadOptions = { tls: '1.2', tickets: false, resume: 0, connections: 64, clients: 1000, count: CACHE, duration: cap };
    const rows: Row[] = [];
    for (const kind of alternate(ctx.servers, index)) {
      const row = await fill(ctx, kind, CACHE, load, kind);
      emit('memory', row);
      rows.push(row);
    }
    if (ctx.servers.includes('warmshake')) {
      const control = await fill(ctx, 'warmshake', CONTROL_CACHE, load, `warmshake (control: ${CONTROL_CACHE}-session cache)`);
      emit('memory', control);
      rows.push(control);
    }
    return {
      id: 'memory', title: this.title,
      setup: `TLS 1.2 full handshakes without tickets (--resume 0), 64 connections, 1 thread, for at most ${cap} s (--count ${CACHE})`,
      columns: [
        { key: 'server', title: 'server' },
        { key: 'extra.sessionsFilled', title: 'sessions filled' },
        { key: 'extra.rssStartMB', title: 'RSS at start MB' },
        { key: 'extra.rssAfterMB', title: 'RSS after fill MB' },
        { key: 'extra.rssAddedMB', title: 'RSS added MB' },
        { key: 'extra.pssAddedMB', title: 'PSS added MB' },
        { key: 'extra.segmentMB', title: 'cache segment MB (reserved for 100k)' },
        { key: 'extra.segmentResidentMB', title: 'segment resident after fill MB' },
        { key: 'extra.segmentBytesPerSession', title: 'segment bytes per new session' }
      ],
      rows,
      ratios: [{ key: 'extra.segmentMB', lowerIsBetter: true, title: 'cache segment for 100k sessions' }],
      notes: [
        'All three reserve the cache up front: warmshake a SharedArrayBuffer sized by `session_cache.size` (what `warmshake check` reports), HAProxy `tune.ssl.cachesize` blocks (written at start, so all resident at once), nginx a `shared:SSL:25m` zone (about 4000 sessions per MB). With 100,000 sessions cached, the segment is what they cost; a full segment is its reserved size.',
        'RSS is summed over the process tree (nginx: master and worker); PSS counts shared pages once.',
        'The control row has the same load with a 1,000-session cache: RSS growth it shares with the 100,000-session run comes from the load (V8 heap growth up to a plateau, buffers), not from the sessions.'
      ]
    };
  }
};
