// One fixed-rate case against one server, under a profiler, to see where the server
// spends per resumed handshake (docs/profiling-native.md). These VMs have no hardware
// performance counters (`perf stat -e instructions` says <not supported>), so
// instructions per handshake come from valgrind's callgrind (Ir: instructions executed,
// counted, not sampled; the machine's load does not change them). `perf` samples
// cpu-clock for a call graph in real time; `strace -c` counts system calls (kernel work
// callgrind does not see); `perf stat` software events (task-clock, context switches,
// page faults: the PMU's counters are missing, these are not); `threads` reads each
// thread's CPU time (schedstat) to say which thread a worker count costs in.
//   node bench/perf-case.ts --server native|node|haproxy --case ids12|stateful13|tickets12|tickets13
//        [--tool callgrind|perf|strace|stat|threads|none] [--rate R] [--duration S] [--fill N] [--out DIR]
//        [--workers N] [--cpus LIST] [--client-cpus LIST] [--log-level warn|info|debug]
// --workers 2 (with --cpus 0,1, as the 2-worker rate case pins them) compares a worker
// count with its own 1-worker figure; callgrind runs one thread at a time, so for 2
// workers `--tool stat` (task-clock) and `--tool strace` tell more.
// Prints one JSON line: handshakes, resumed, and Ir per handshake (callgrind) or the
// perf.data path (perf), or system calls per handshake (strace). With callgrind, the counts start at zero after the fill and a
// warm-up, so only the measured load is counted; `callgrind_annotate DIR/cg.out.PID.1`
// shows where.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSelfSigned } from '../src/certs/self-signed.ts';
import { runBench } from '../src/cli/bench/index.ts';
import { benchOptions } from './measure.ts';
import { probePort } from './ports.ts';
import { startBackend, startServer } from './servers/index.ts';
import type { ServerKind } from './servers/index.ts';
import { X25519 } from './rate-cases.ts';

/** `strace -c` table: calls per handshake by syscall, the busiest first. */
function syscallsPerHandshake (table: string, handshakes: number): Record<string, number> {
  const rows = table.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 5 && /^\d/.test(f[0]) && /^\d+$/.test(f[3]));
  const out = rows.map((f) => [f[f.length - 1], Math.round((Number(f[3]) / handshakes) * 100) / 100] as const).sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(out);
}

/** CPU time of each thread of `pid` (ns, /proc/PID/task/TID/schedstat) with its name. */
function threadTimes (pid: number): Map<string, { name: string; ns: number }> {
  const out = new Map<string, { name: string; ns: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(tid, { name, ns: Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) });
    } catch { /* the thread ended meanwhile */ }
  }
  return out;
}

/** µs per handshake spent by each thread between two `threadTimes`, the busiest first,
 * threads of one name numbered (how the load spreads over the engines), and the total. */
function threadsPerHandshake (before: ReturnType<typeof threadTimes>, after: ReturnType<typeof threadTimes>, handshakes: number): Record<string, number> {
  const round = (us: number): number => Math.round(us * 100) / 100;
  const rows = [...after].map(([tid, t]) => ({ name: t.name, us: (t.ns - (before.get(tid)?.ns ?? 0)) / 1000 / handshakes }))
    .filter((r) => r.us > 0.005).sort((a, b) => b.us - a.us);
  const seen = new Map<string, number>();
  const out: Record<string, number> = { total: round(rows.reduce((sum, r) => sum + r.us, 0)) };
  for (const r of rows) {
    const n = (seen.get(r.name) ?? 0) + 1;
    seen.set(r.name, n);
    out[n === 1 ? r.name : `${r.name} ${n}`] = round(r.us);
  }
  return out;
}

/** `perf stat -x ,` lines: value,unit,event,...; task-clock in µs, the rest as counts, per handshake. */
function statPerHandshake (csv: string, handshakes: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of csv.split('\n').map((l) => l.split(',')).filter((f) => f.length > 3 && f[0] !== '' && !f[0].startsWith('#'))) {
    const v = Number(f[0]) * (f[2] === 'task-clock' ? 1000 : 1);
    out[f[2] === 'task-clock' ? 'taskClockUs' : f[2]] = Math.round((v / handshakes) * 100) / 100;
  }
  return out;
}

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'native' },
    case: { type: 'string', default: 'ids12' },
    tool: { type: 'string', default: 'callgrind' },
    rate: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    fill: { type: 'string', default: '300' },
    workers: { type: 'string', default: '1' },
    cpus: { type: 'string', default: '0' },
    // The load generator's core after the fill, as `npm run bench` pins it (bench/run.ts):
    // unpinned it runs load threads on the server's core too, which changes what a
    // server pays per wake-up of an otherwise idle core.
    'client-cpus': { type: 'string', default: '1' },
    out: { type: 'string' },
    // warmshake's log level: `warn` as in `npm run bench`; `info` (the default config's) logs every handshake.
    'log-level': { type: 'string', default: 'warn' }
  }
});

type Case = 'ids12' | 'stateful13' | 'tickets12' | 'tickets13';
const CASES: Record<Case, { tls: '1.2' | '1.3'; tickets: boolean; serverTickets: boolean }> = {
  ids12: { tls: '1.2', tickets: false, serverTickets: false },
  stateful13: { tls: '1.3', tickets: true, serverTickets: false },
  tickets12: { tls: '1.2', tickets: true, serverTickets: true },
  tickets13: { tls: '1.3', tickets: true, serverTickets: true }
};
const c = CASES[values.case as Case];
if (!c) throw new RangeError(`--case must be one of ${Object.keys(CASES).join(', ')}`);
const kind: ServerKind = values.server === 'haproxy' ? 'haproxy' : 'warmshake';
const engine = values.server === 'node' ? 'node' : 'native';
const tool = values.tool!;
const rate = Number(values.rate);
const duration = Number(values.duration);
const out = values.out ?? mkdtempSync(join(tmpdir(), 'warmshake-perf-'));

const callgrind = ['valgrind', '--tool=callgrind', '--collect-atstart=yes', `--callgrind-out-file=${join(out, 'cg.out.%p')}`];
const { cert, key } = generateSelfSigned({ names: ['localhost', '127.0.0.1'], keyType: 'ec' });
const certFile = join(out, 'cert.pem');
const keyFile = join(out, 'key.pem');
execFileSync('sh', ['-c', 'cat > "$0"', certFile], { input: cert });
execFileSync('sh', ['-c', 'umask 077; cat > "$0"', keyFile], { input: key });

const backend = await startBackend('1');
// A server that does not start must not leave the backend running.
const server = await startServer(kind, {
  dir: mkdtempSync(join(out, 'server-')), port: await probePort(), cert: certFile, key: keyFile,
  threads: Number(values.workers), cacheSize: 120_000, lifetime: 300, tickets: c.serverTickets, backendPort: backend.port, cpus: values.cpus!,
  // --perf-basic-prof: V8 writes /tmp/perf-PID.map, so perf names JS frames.
  ...(kind === 'warmshake' ? { engine, logLevel: values['log-level'] as 'warn' | 'info' | 'debug', ...(tool === 'perf' ? { execArgv: ['--perf-basic-prof'] } : {}) } : {}),
  ...(tool === 'callgrind' ? { wrap: callgrind } : {})
}).catch(async (err: unknown) => { await backend.stop(); throw err; });
const load = { tls: c.tls, tickets: c.tickets, group: X25519, timeoutMs: 30_000 };
try {
  const fill = await runBench(benchOptions(server.port, {
    ...load, resume: 0, count: Number(values.fill), clients: Number(values.fill), collectSessions: true, connections: 8, duration: 1800
  }));
  let sessions = fill.sessions ?? [];
  execFileSync('taskset', ['-a', '-p', '-c', values['client-cpus']!, String(process.pid)], { stdio: 'ignore' });
  const at = async (seconds: number): Promise<Awaited<ReturnType<typeof runBench>>> => {
    const result = await runBench(benchOptions(server.port, {
      ...load, resume: 1, rate, connections: 256, duration: seconds, sessions, clients: sessions.length, collectSessions: true
    }));
    sessions = result.sessions ?? sessions;
    return result;
  };
  await at(3);
  let perf: ReturnType<typeof spawn> | undefined;
  const perfFile = join(out, 'perf.data');
  if (tool === 'callgrind') execFileSync('callgrind_control', ['-z', String(server.pid)], { stdio: 'ignore' });
  const straceFile = join(out, 'strace.txt');
  const statFile = join(out, 'perf-stat.txt');
  if (tool === 'perf' || tool === 'strace' || tool === 'stat') {
    perf = tool === 'perf'
      ? spawn('perf', ['record', '-e', 'cpu-clock', '-F', '2000', '-g', '-o', perfFile, '-p', String(server.pid)], { stdio: 'ignore' })
      : tool === 'stat'
        ? spawn('perf', ['stat', '-x', ',', '-e', 'task-clock,context-switches,page-faults', '-o', statFile, '-p', String(server.pid)], { stdio: 'ignore' })
        : spawn('strace', ['-c', '-f', '-o', straceFile, '-p', String(server.pid)], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const threadsBefore = tool === 'threads' ? threadTimes(server.pid) : undefined;
  const result = await at(duration);
  const line: Record<string, unknown> = {
    server: values.server, case: values.case, tool, workers: Number(values.workers), ...(kind === 'warmshake' ? { logLevel: values['log-level'] } : {}), rate, achieved: result.handshakesPerSecond,
    handshakes: result.handshakes, resumed: result.resumed, errors: result.errors, fill: fill.sessions?.length
  };
  if (tool === 'callgrind') {
    execFileSync('callgrind_control', ['-d', String(server.pid)], { stdio: 'ignore' });
    const dump = readdirSync(out).filter((f) => f.startsWith(`cg.out.${server.pid}.`)).sort().at(-1)!;
    const ir = Number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(join(out, dump), 'utf8'))?.[1]);
    Object.assign(line, { dump: join(out, dump), ir, irPerHandshake: Math.round(ir / result.handshakes) });
  }
  if (threadsBefore) line.threads = threadsPerHandshake(threadsBefore, threadTimes(server.pid), result.handshakes);
  if (perf) {
    perf.kill('SIGINT');
    await new Promise((resolve) => perf.once('exit', resolve));
    if (tool === 'perf') line.perfData = perfFile;
    else if (tool === 'stat') line.perHandshake = statPerHandshake(readFileSync(statFile, 'utf8'), result.handshakes);
    else line.syscalls = syscallsPerHandshake(readFileSync(straceFile, 'utf8'), result.handshakes);
  }
  console.log(JSON.stringify(line));
} finally {
  await server.stop();
  await backend.stop();
}
