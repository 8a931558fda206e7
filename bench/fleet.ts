// The telemetry fleet from the field: many distinct devices reconnecting at random
// through a session cache larger than the fleet, then one smaller than it. With random
// reconnections and oldest-first eviction, a cache of C sessions for N devices should
// resume about C/N of them; CPU per handshake follows the full-handshake share.
// The field numbers (50,000 devices; 100,000 then 20,000 sessions) are scaled down to
// fit a 2-core machine's time budget; the ratios cache/devices are kept.
import { withServer } from './compare.ts';
import type { BenchContext, Scenario, ScenarioReport } from './context.ts';
import { alternate } from './context.ts';
import { cpuBetween, perHandshakeUs, sampleCpu } from './cpu.ts';
import { runIdentityLoad } from './identity-load.ts';
import { emit } from './measure.ts';
import type { Row } from './measure.ts';

const FIELD_DEVICES = 50_000;
const CACHE_RATIOS = [2, 0.4];

export const fleetScenario: Scenario = {
  id: 'fleet',
  title: 'Telemetry fleet: devices reconnecting at random (TLS 1.2 ids)',
  async run (ctx: BenchContext, index: number): Promise<ScenarioReport> {
    const devices = ctx.quick ? 1500 : 4000;
    const capMs = (ctx.quick ? 10 : 25) * 1000;
    const kinds = ctx.servers.filter((k) => k !== 'nginx');
    const rows: Row[] = [];
    for (const ratio of CACHE_RATIOS) {
      const cacheSize = Math.round(devices * ratio);
      for (const kind of alternate(kinds, index)) {
        const row = await withServer(ctx, kind, { tickets: false, cacheSize }, async (server) => {
          const sessions: (Buffer | undefined)[] = new Array(devices).fill(undefined);
          const common = { ports: [server.port], sessions, tls: '1.2' as const, tickets: false, connections: 32 };
          // Every device connects once: the cache holds the newest `cacheSize` sessions.
          await runIdentityLoad({ ...common, order: 'each', count: devices, durationMs: capMs });
          let last = sampleCpu([server.pid]);
          const first = last;
          const result = await runIdentityLoad({
            ...common, order: 'random', count: devices * 2, durationMs: capMs,
            tick: (entry) => {
              const now = sampleCpu([server.pid]);
              const us = perHandshakeUs(cpuBetween(last, now), entry.handshakes);
              last = now;
              return { cpuUsPerHandshake: us };
            }
          });
          const usage = cpuBetween(first, sampleCpu([server.pid]));
          const seconds = result.elapsedMs / 1000;
          return {
            server: kind, handshakes: result.handshakes,
            handshakesPerSecond: Math.round(result.handshakes / seconds),
            resumedPct: result.resumedPct, resumedOfAllPct: result.resumedPct,
            cpuUsPerHandshake: perHandshakeUs(usage, result.handshakes),
            serverCpuPct: Math.round((usage.cpuUs / (result.elapsedMs * 1000)) * 1000) / 10,
            p50Ms: 0, p99Ms: 0,
            errors: Object.values(result.errors).reduce((a, b) => a + b, 0),
            extra: {
              cache: cacheSize, devices, expectedPct: Math.min(100, Math.round(ratio * 100)),
              resumedOverTime: result.series.map((s) => (s.offered > 0 ? Math.round((s.resumed / s.offered) * 100) : 0)).join(' '),
              cpuOverTime: result.series.map((s) => Math.round(s.cpuUsPerHandshake ?? 0)).join(' ')
            }
          } satisfies Row;
        });
        emit('fleet', row);
        rows.push(row);
      }
    }
    const scale = FIELD_DEVICES / devices;
    return {
      id: 'fleet', title: this.title,
      setup: `${devices} devices (the field's ${FIELD_DEVICES} scaled down ${scale}×), caches of ${CACHE_RATIOS.map((r) => Math.round(devices * r)).join(' then ')} sessions (field: ${CACHE_RATIOS.map((r) => FIELD_DEVICES * r).join(' then ')}); each device connects once, then ${devices * 2} reconnections by devices drawn at random (each phase stops after ${capMs / 1000} s at most); 32 connections, 1 thread, tickets off`,
      columns: [
        { key: 'server', title: 'server' },
        { key: 'extra.cache', title: 'cache' },
        { key: 'resumedPct', title: 'resumed %' },
        { key: 'extra.expectedPct', title: 'expected % (cache/devices)' },
        { key: 'cpuUsPerHandshake', title: 'server CPU µs/handshake' },
        { key: 'handshakesPerSecond', title: 'handshakes/s' },
        { key: 'errors', title: 'errors' },
        { key: 'extra.resumedOverTime', title: 'resumed % per second' },
        { key: 'extra.cpuOverTime', title: 'CPU µs/handshake per second' }
      ],
      rows,
      ratios: [
        { key: 'resumedPct', lowerIsBetter: false, title: 'resumed %' },
        { key: 'cpuUsPerHandshake', lowerIsBetter: true, title: 'CPU per handshake' }
      ],
      groupBy: 'extra.cache',
      notes: ['nginx is left out here (the issue compares warmshake and HAProxy); it runs in every other scenario.']
    };
  }
};
