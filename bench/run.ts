// `npm run bench`: warmshake (each engine) against HAProxy and nginx on this machine, at
// fixed handshake rates with a populated cache, then a stalled-connection flood for
// memory. Prints one JSON line per result and writes docs/benchmarks.md. The older
// closed-loop scenarios (scenarios.ts) run with `--only NAME`. Bounded: every load
// stops on its own, and a watchdog ends the run (and every server it started) if the
// whole exceeds its budget.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSelfSigned } from '../src/certs/self-signed.ts';
import { redisSkipReason, startRedis } from './redis-server.ts';
import type { RedisHandle } from './redis-server.ts';
import { parseArgs, USAGE } from './args.ts';
import type { BenchContext, CertPair, ScenarioReport } from './context.ts';
import { describeEnvironment, loadAverageNow } from './environment.ts';
import { processTree } from './proc.ts';
import { writeReport } from './report.ts';
import { scenarios } from './scenarios.ts';
import { lineup } from './contenders.ts';
import { runFixedRate } from './fixed-rate.ts';
import { FILL, fillOf, QUICK_FILL } from './rate-servers.ts';
import { floodScenario } from './flood.ts';
import { rateSections, rateTargets } from './rate-report.ts';
import { rateCases } from './rate-cases.ts';
import { ALL_SERVERS, defaultRoot, missingReason, startBackend } from './servers/index.ts';

const REPORT = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const BUDGET_MINUTES = { full: 50, quick: 15 };
/** What a run without --only does: the fixed-rate comparison, then the flood. */
const DEFAULT_SET = ['rate', 'flood'];

function writeCert (root: string, keyType: 'ec' | 'rsa'): CertPair {
  const { cert, key } = generateSelfSigned({ names: ['localhost', '127.0.0.1'], keyType });
  const pair = { cert: join(root, `${keyType}.crt`), key: join(root, `${keyType}.key`) };
  writeFileSync(pair.cert, cert);
  writeFileSync(pair.key, key, { mode: 0o600 });
  return pair;
}

/** Kills every process this run started (servers, backend, redis) — for the watchdog and ^C. */
function killDescendants (): void {
  for (const pid of processTree(process.pid).slice(1).reverse()) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

function findChild (name: string): number | undefined {
  return processTree(process.pid).slice(1).find((pid) => {
    try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name; } catch { return false; }
  });
}

async function main (): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) { console.log(USAGE); return; }
  const started = new Date();
  // Before pinning: afterwards this process sees one CPU.
  const env = describeEnvironment();
  const several = env.nproc >= 2;
  const serverCpus = '0';
  const clientCpus = several ? '1' : '0';
  const allCpus = several ? '0,1' : '0';
  // Pin this process (the load generator) and every thread it has or will start.
  execFileSync('taskset', ['-a', '-p', '-c', clientCpus, String(process.pid)], { stdio: 'ignore' });
  const pinning = several
    ? `servers on CPU ${serverCpus} (2-thread scenarios on ${allCpus}), load generator, backend and redis on CPU ${clientCpus} (taskset); while storing sessions before a measurement the load generator uses both`
    : 'one CPU: servers and load generator share it, so CPU figures are still per server but rates are not comparable';

  const budget = (options.quick ? BUDGET_MINUTES.quick : BUDGET_MINUTES.full) * 60_000;
  const watchdog = setTimeout(() => {
    console.error(`bench: over its ${budget / 60_000}-minute budget; stopping`);
    killDescendants();
    process.exit(1);
  }, budget);
  watchdog.unref();
  const root = defaultRoot();
  process.once('SIGINT', () => {
    killDescendants();
    rmSync(root, { recursive: true, force: true });
    process.exit(130);
  });

  const skipped: Record<string, string> = {};
  const servers = ALL_SERVERS.filter((kind) => {
    const why = missingReason(kind);
    if (why) skipped[kind] = why;
    return !why;
  });
  const redisSkip = redisSkipReason();
  if (redisSkip) skipped['redis-server'] = redisSkip;
  const backend = await startBackend(clientCpus);
  const redisKeyFile = join(root, 'cache.key');
  writeFileSync(redisKeyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  let redis: RedisHandle | undefined;
  let redisPid: number | undefined;
  const ctx: BenchContext = {
    quick: options.quick, root,
    certs: { ec: writeCert(root, 'ec'), rsa: writeCert(root, 'rsa') },
    backendPort: backend.port,
    serverCpus, clientCpus, allCpus,
    duration: options.duration ?? (options.quick ? 2 : 4),
    servers,
    redisKeyFile,
    async redis () {
      if (redisSkip) return undefined;
      if (!redis) {
        redis = await startRedis();
        redisPid = findChild('redis-server');
        if (redisPid) execFileSync('taskset', ['-a', '-p', '-c', clientCpus, String(redisPid)], { stdio: 'ignore' });
      }
      return redis.url;
    },
    redisPid: () => redisPid
  };

  const wanted = options.only.length > 0 ? options.only : DEFAULT_SET;
  const selected = scenarios().filter((s) => wanted.includes(s.id));
  const unknown = wanted.filter((id) => !DEFAULT_SET.includes(id) && !selected.some((s) => s.id === id));
  if (unknown.length > 0) throw new RangeError(`no scenario named ${unknown.join(', ')}; known: ${[...DEFAULT_SET, ...scenarios().map((s) => s.id)].join(', ')}`);
  const caseIds = rateCases(false).map((c) => c.id);
  const badCases = options.cases.filter((id) => !caseIds.includes(id));
  if (badCases.length > 0) throw new RangeError(`no fixed-rate case named ${badCases.join(', ')}; known: ${caseIds.join(', ')}`);
  const reports: ScenarioReport[] = [];
  const targets: string[] = [];
  try {
    const { contenders, unavailable } = await lineup(ctx);
    Object.assign(skipped, unavailable);
    console.log(JSON.stringify({ bench: 'lineup', contenders: contenders.map((c) => c.label), unavailable }));
    if (wanted.includes('rate')) {
      const run = await runFixedRate(ctx, contenders, {
        ...(options.fill === undefined ? {} : { fill: fillOf(options.fill, ctx.quick ? QUICK_FILL : FILL) }),
        ...(options.rounds === undefined ? {} : { rounds: options.rounds }),
        ...(options.cases.length === 0 ? {} : { cases: options.cases })
      });
      reports.push(...rateSections(run, ctx.quick));
      reports.push({ id: 'fills', title: 'Sessions stored before measuring', setup: 'full handshakes per server instance and pool; returning clients drew from these', columns: [], rows: [], ratios: [], notes: Object.entries(run.fills).map(([k, v]) => `${k}: ${v}`) });
      targets.push(...rateTargets(run, unavailable));
    }
    if (wanted.includes('flood')) {
      try {
        reports.push(await floodScenario(ctx, contenders));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        reports.push({ id: 'flood', title: 'Memory: stalled-connection flood', setup: 'failed', columns: [], rows: [], ratios: [], notes: [`This scenario failed: ${message.slice(0, 500)}`] });
      }
    }
    for (const [index, scenario] of selected.entries()) {
      try {
        reports.push(await scenario.run(ctx, index));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        console.log(JSON.stringify({ bench: 'compare', scenario: scenario.id, error: message.slice(0, 500) }));
        reports.push({ id: scenario.id, title: scenario.title, setup: 'failed', columns: [], rows: [], ratios: [], notes: [`This scenario failed: ${message.slice(0, 500)}`] });
      }
    }
  } finally {
    await backend.stop();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
    clearTimeout(watchdog);
  }

  // A --quick run is a smoke run: its figures do not replace the report unless asked.
  const out = options.out ?? (options.only.length === 0 && !options.quick ? REPORT : undefined);
  env.loadAverageEnd = loadAverageNow();
  if (out) {
    writeReport(out, {
      env, startedAt: started, minutes: (Date.now() - started.getTime()) / 60_000, quick: options.quick,
      command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
      skipped, pinning, scenarios: reports, targets
    });
    console.log(JSON.stringify({ bench: 'compare', report: out }));
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  killDescendants();
  process.exitCode = 1;
});
