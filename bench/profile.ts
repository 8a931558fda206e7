// Profiles warmshake's resumed-handshake path: one worker thread, `--cpu-prof` on the
// process (worker threads inherit it), a resumed TLS 1.2 (session id) load from
// `runBench`, then the top self-time functions of the worker's profile.
//   node bench/profile.ts [--duration S] [--tls 1.2|1.3] [--tickets] [--top N] [--keep DIR]
// Prints one JSON line per function, then a table.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { TlsVersion } from '../src/cli/handshake.ts';
import { generateSelfSigned } from '../src/certs/self-signed.ts';
import { freePort } from './ports.ts';
import { benchOptions } from './measure.ts';
import { runBench } from '../src/cli/bench/index.ts';
import { startBackend } from './servers/index.ts';
import { startWarmshake } from './servers/warmshake.ts';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export interface SelfTime { name: string; where: string; ms: number; pct: number }

/** Self time per function (name + file + line), largest first, in percent of busy (non-idle) time. */
export function selfTimes (profile: CpuProfile, root: string): { total: number; entries: SelfTime[] } {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const totals = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byNode.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    if (!frame || frame.functionName === '(idle)') return;
    total += us;
    const file = frame.url.replace(`file://${root}/`, '');
    const where = file === '' ? '(native)' : `${file}:${frame.lineNumber + 1}`;
    const name = frame.functionName || '(anonymous)';
    const key = `${name}@${where}`;
    const entry = totals.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    totals.set(key, entry);
  });
  const entries = [...totals.values()]
    .sort((a, b) => b.us - a.us)
    .map((e) => ({ name: e.name, where: e.where, ms: Math.round(e.us / 100) / 10, pct: Math.round((e.us / total) * 1000) / 10 }));
  return { total: total / 1000, entries };
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '8' },
      tls: { type: 'string', default: '1.2' },
      tickets: { type: 'boolean', default: false },
      top: { type: 'string', default: '25' },
      keep: { type: 'string' }
    }
  });
  const dir = mkdtempSync(join(tmpdir(), 'warmshake-profile-'));
  const profDir = values.keep ?? join(dir, 'prof');
  const { cert, key } = generateSelfSigned({ names: ['localhost', '127.0.0.1'], keyType: 'ec' });
  writeFileSync(join(dir, 'c.pem'), cert);
  writeFileSync(join(dir, 'k.pem'), key, { mode: 0o600 });
  const backend = await startBackend('1');
  const port = await freePort();
  const server = await startWarmshake({
    dir, port, cert: join(dir, 'c.pem'), key: join(dir, 'k.pem'), threads: 1, cacheSize: 100_000, lifetime: 300,
    tickets: values.tickets, backendPort: backend.port, cpus: '0',
    execArgv: ['--cpu-prof', `--cpu-prof-dir=${profDir}`]
  });
  try {
    const result = await runBench(benchOptions(port, {
      tls: values.tls as TlsVersion, tickets: values.tickets, resume: 1, connections: 32, clients: 1000, duration: Number(values.duration)
    }));
    console.log(JSON.stringify({ bench: 'profile', handshakes: result.handshakes, resumedPct: result.resumedPct, handshakesPerSecond: result.handshakesPerSecond }));
  } finally {
    await server.stop();
    await backend.stop();
  }
  const profiles = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
  for (const file of profiles) {
    const { total, entries } = selfTimes(JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile, root);
    // Where the busy time goes: warmshake's own code, Node's lib (net, tls, streams), packages, native.
    const kinds: Record<string, number> = {};
    for (const e of entries) {
      const kind = e.where.startsWith('src/') ? 'warmshake src/' : e.where.startsWith('node:') ? 'node lib' : e.where.startsWith('node_modules/') ? 'node_modules' : 'native/gc/program';
      kinds[kind] = Math.round(((kinds[kind] ?? 0) + e.pct) * 10) / 10;
    }
    console.log(JSON.stringify({ bench: 'profile', file, busyMs: Math.round(total), busyPctByKind: kinds }));
    for (const e of entries.slice(0, Number(values.top))) console.log(JSON.stringify({ bench: 'profile', file, ...e }));
    const ours = entries.filter((e) => e.where.startsWith('src/')).slice(0, 10);
    for (const e of ours) console.log(JSON.stringify({ bench: 'profile', file, warmshake: true, ...e }));
  }
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(`profile: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
