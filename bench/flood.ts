// Memory under a stalled-handshake flood (issue 15): 10,000 connections that each send
// the first bytes of a ClientHello and then nothing. Per server: RSS of the process
// tree before, the peak while the connections are open, and 30 s after the client
// closed them all (does the memory come back?). The servers wait out their 30 s side by
// side, so the whole costs one 30 s wait, not one per server.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { baseSpec } from './compare.ts';
import type { BenchContext, Column, ScenarioReport } from './context.ts';
import type { Contender } from './contenders.ts';
import { emit } from './measure.ts';
import type { Row } from './measure.ts';
import { measureMemory } from './memory.ts';
import { haproxyMaxconn } from './servers/haproxy.ts';
import { startServer } from './servers/index.ts';
import type { RunningServer } from './servers/index.ts';

const SETTLE_MS = 30_000;
const HOLD_MS = 3000;
const BATCH = 500;
/** A connection the server never accepts (a full backlog) must not hold the flood up. */
const CONNECT_TIMEOUT_MS = 3000;
const SOURCES = 250;
const mb = (kb: number): number => Math.round((kb / 1024) * 10) / 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A TLS record header announcing a 512-byte ClientHello, then its first 40 bytes: the server must keep the connection and wait. */
const PREFIX = Buffer.concat([
  Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
  Buffer.alloc(29, 0x42)
]);

export const FLOOD_COLUMNS: Column[] = [
  { key: 'server', title: 'server' },
  { key: 'extra.opened', title: 'connections open' },
  { key: 'extra.closedByServer', title: 'closed by the server while held' },
  { key: 'extra.rssBeforeMB', title: 'RSS before MB' },
  { key: 'extra.rssPeakMB', title: 'RSS peak MB' },
  { key: 'extra.rssAfterMB', title: 'RSS 30 s after MB' },
  { key: 'extra.afterOverBefore', title: 'after / before' }
];

interface Flooded { sockets: Socket[]; closedByServer: () => number }

async function flood (port: number, count: number): Promise<Flooded> {
  const sockets: Socket[] = [];
  let closedByServer = 0;
  for (let start = 0; start < count; start += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => new Promise<void>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress: `127.0.${1 + ((start + i) % SOURCES) + 1}.1` });
      const timer = setTimeout(() => { socket.destroy(); resolve(); }, CONNECT_TIMEOUT_MS);
      socket.on('error', () => { clearTimeout(timer); resolve(); });
      socket.once('connect', () => { clearTimeout(timer); socket.write(PREFIX); sockets.push(socket); resolve(); });
      // Read before the client closes them: until then every close is the server's.
      socket.once('close', () => { closedByServer++; });
    }));
    await Promise.all(batch);
  }
  return { sockets, closedByServer: () => closedByServer };
}

interface Pending { label: string; server: RunningServer; row: Row; closedAt: number }

export async function floodScenario (ctx: BenchContext, contenders: Contender[]): Promise<ScenarioReport> {
  const count = ctx.quick ? 1000 : 10_000;
  const haproxyCap = haproxyMaxconn(2 * count);
  const pending: Pending[] = [];
  const rows: Row[] = [];
  try {
    for (const contender of contenders) {
      const spec = await baseSpec(ctx, `${contender.label.replace(' ', '-')}-flood`, { maxConnections: 2 * count, ...(contender.engine ? { engine: contender.engine } : {}) });
      const server = await startServer(contender.kind, spec);
      const before = measureMemory(server.pid).rssKb;
      let peak = before;
      const sampler = setInterval(() => { peak = Math.max(peak, measureMemory(server.pid).rssKb); }, 250);
      const flooded = await flood(server.port, count);
      await sleep(HOLD_MS);
      peak = Math.max(peak, measureMemory(server.pid).rssKb);
      clearInterval(sampler);
      const opened = flooded.sockets.length;
      const closedByServer = flooded.closedByServer();
      for (const socket of flooded.sockets) socket.destroy();
      const row: Row = {
        server: contender.label, handshakes: 0, handshakesPerSecond: 0, resumedPct: 0, resumedOfAllPct: 0, cpuUsPerHandshake: 0,
        serverCpuPct: 0, p50Ms: 0, p99Ms: 0, errors: count - opened,
        extra: { opened, closedByServer, rssBeforeMB: mb(before), rssPeakMB: mb(peak) }
      };
      pending.push({ label: contender.label, server, row, closedAt: performance.now() });
    }
    for (const p of pending) {
      await sleep(Math.max(0, p.closedAt + SETTLE_MS - performance.now()));
      const after = measureMemory(p.server.pid).rssKb;
      const before = Number(p.row.extra.rssBeforeMB);
      Object.assign(p.row.extra, { rssAfterMB: mb(after), afterOverBefore: `${(mb(after) / before).toFixed(2)}×` });
      const failure = p.server.failure();
      if (failure !== undefined) p.row.extra.serverFailure = failure;
      emit('flood', p.row);
      rows.push(p.row);
    }
  } finally {
    for (const p of pending) await p.server.stop();
  }
  return {
    id: 'flood', title: `Memory: ${count.toLocaleString('en')} stalled connections (a ClientHello prefix, then nothing)`,
    setup: `each server fresh (1 worker, tickets on, cache room for 120,000 sessions, HAProxy maxconn / nginx worker_connections ${2 * count}), ${count} connections opened from the load generator, each sending a TLS record header for a 512-byte ClientHello and 40 bytes of it, held ${HOLD_MS / 1000} s, then closed by the client; RSS of the process tree sampled every 250 ms, and ${SETTLE_MS / 1000} s after the close`,
    columns: FLOOD_COLUMNS, rows, ratios: [],
    notes: [
      'Issue 15 asks for RSS to come back within 20% of the pre-flood figure (after / before ≤ 1.2×).',
      ...(haproxyCap < count ? [`HAProxy's maxconn is capped at ${haproxyCap} here: it needs two descriptors per connection and the container's hard limit (\`ulimit -Hn\`) cannot be raised, so it holds fewer connections than the others (the rest wait in the kernel's backlog).`] : [])
    ]
  };
}
