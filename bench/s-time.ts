// Cross-check with a client nobody here wrote: `openssl s_time -new` (full handshakes)
// and `-reuse` (one session resumed over and over) in TLS 1.2, against servers with
// tickets off so `-reuse` resumes by session id. s_time sends no SNI and reads nothing.
import { spawn } from 'node:child_process';
import { withServer } from './compare.ts';
import type { BenchContext, Scenario, ScenarioReport } from './context.ts';
import { alternate } from './context.ts';
import { cpuBetween, perHandshakeUs, sampleCpu } from './cpu.ts';
import { emit } from './measure.ts';
import type { Row } from './measure.ts';

interface STime { connections: number; wallMs: number; output: string; resumedPct: number }

/** s_time prints one character per connection: `r` when the session was reused. */
function resumedShare (output: string): number {
  const marks = output.split('\n').filter((l) => /^[a-z0-9*]+$/.test(l) && l !== 'starting').join('');
  return marks.length > 0 ? Math.round(([...marks].filter((c) => c === 'r').length / marks.length) * 1000) / 10 : 0;
}

function sTime (cpus: string, port: number, mode: '-new' | '-reuse', seconds: number): Promise<STime> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('taskset', ['-c', cpus, 'openssl', 's_time', '-connect', `127.0.0.1:${port}`, mode, '-time', String(seconds), '-tls1_2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    child.once('error', reject);
    child.once('exit', () => {
      // "N connections in T real seconds": T is whole seconds, so the wall clock is ours.
      const match = /(\d+) connections in \d+ real seconds/.exec(output);
      resolve({ connections: match ? Number(match[1]) : 0, wallMs: performance.now() - started, output, resumedPct: resumedShare(output) });
    });
  });
}

export const sTimeScenario: Scenario = {
  id: 's_time',
  title: 'Cross-check: openssl s_time, TLS 1.2',
  async run (ctx: BenchContext, index: number): Promise<ScenarioReport> {
    const seconds = ctx.quick ? 2 : 3;
    const rows: Row[] = [];
    for (const kind of alternate(ctx.servers, index)) {
      const extra: Record<string, unknown> = {};
      await withServer(ctx, kind, { tickets: false }, async (server) => {
        for (const mode of ['-new', '-reuse'] as const) {
          const before = sampleCpu([server.pid]);
          const run = await sTime(ctx.clientCpus, server.port, mode, seconds);
          const usage = cpuBetween(before, sampleCpu([server.pid]));
          const key = mode.slice(1);
          extra[`${key}PerSecond`] = Math.round(run.connections / (run.wallMs / 1000));
          extra[`${key}CpuUs`] = perHandshakeUs(usage, run.connections);
          if (mode === '-reuse') extra.reuseResumedPct = run.resumedPct;
          if (run.connections === 0) extra[`${key}Output`] = run.output.slice(-300);
        }
      });
      const row: Row = {
        server: kind, handshakes: 0, handshakesPerSecond: 0, resumedPct: 0, resumedOfAllPct: 0, cpuUsPerHandshake: 0,
        serverCpuPct: 0, p50Ms: 0, p99Ms: 0, errors: 0, extra
      };
      emit('s_time', row);
      rows.push(row);
    }
    return {
      id: 's_time', title: this.title,
      setup: `\`openssl s_time -connect 127.0.0.1:PORT -new|-reuse -time ${seconds} -tls1_2\` on the load generator's core; servers with tickets off`,
      columns: [
        { key: 'server', title: 'server' },
        { key: 'extra.newPerSecond', title: '-new conn/s' },
        { key: 'extra.newCpuUs', title: '-new server CPU µs/conn' },
        { key: 'extra.reusePerSecond', title: '-reuse conn/s' },
        { key: 'extra.reuseCpuUs', title: '-reuse server CPU µs/conn' },
        { key: 'extra.reuseResumedPct', title: '-reuse resumed %' }
      ],
      rows,
      ratios: [
        { key: 'extra.newCpuUs', lowerIsBetter: true, title: '-new CPU per connection' },
        { key: 'extra.reuseCpuUs', lowerIsBetter: true, title: '-reuse CPU per connection' }
      ],
      notes: ['s_time is a C client: faster than the Node load generator, so the server is closer to its own limit here.']
    };
  }
};
