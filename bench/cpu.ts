// Server CPU per handshake: the CPU time of the server's whole process tree, read before
// and after a run, divided by the handshakes the client completed. Read per thread from
// /proc/PID/task/TID/schedstat (nanoseconds on CPU, user and kernel), not from the
// utime/stime of /proc/PID/stat: those count 10 ms ticks, and a 4 s run at 200
// handshakes/s costs a server only 40-100 ticks, so ticks alone would be good to 2-5%,
// too coarse for a 0.9× target. Where schedstat cannot be read, ticks it is.
import { readdirSync, readFileSync } from 'node:fs';
import { CLOCK_TICKS, processTree, readStat } from './proc.ts';

/** Nanoseconds on CPU by `pid/tid` (or `pid` when counted in ticks). */
export interface CpuSample { ns: Map<string, number>; at: number }

export interface CpuUsage {
  /** Server CPU over the interval, microseconds. */
  cpuUs: number;
  /** Wall time of the interval, microseconds. */
  wallUs: number;
  /** cpuUs / wallUs in percent: 100 = one core busy all the time. */
  cpuPct: number;
}

/** Per thread of `pid`, or undefined when a thread's schedstat cannot be read. */
function threadNs (pid: number): Map<string, number> | undefined {
  let tids: string[];
  try { tids = readdirSync(`/proc/${pid}/task`); } catch { return undefined; }
  const out = new Map<string, number>();
  for (const tid of tids) {
    try {
      out.set(`${pid}/${tid}`, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // A thread that ended between readdir and read had nothing more to count, unless
      // schedstat is missing altogether: then the whole process is counted in ticks.
      if (out.size === 0 && tid === tids[tids.length - 1]) return undefined;
    }
  }
  return out;
}

export function sampleCpu (roots: readonly number[]): CpuSample {
  const ns = new Map<string, number>();
  for (const root of roots) {
    for (const pid of processTree(root)) {
      const threads = threadNs(pid);
      if (threads && threads.size > 0) {
        for (const [key, value] of threads) ns.set(key, value);
        continue;
      }
      const stat = readStat(pid);
      if (stat) ns.set(String(pid), ((stat.utime + stat.stime) / CLOCK_TICKS) * 1e9);
    }
  }
  return { ns, at: performance.now() };
}

/** CPU used between two samples; a thread or process born in between counts from zero (one that ended is lost). */
export function cpuBetween (before: CpuSample, after: CpuSample): CpuUsage {
  let ns = 0;
  for (const [key, t] of after.ns) ns += t - (before.ns.get(key) ?? 0);
  const cpuUs = ns / 1000;
  const wallUs = (after.at - before.at) * 1000;
  return { cpuUs, wallUs, cpuPct: wallUs > 0 ? Math.round((cpuUs / wallUs) * 1000) / 10 : 0 };
}

export function perHandshakeUs (usage: CpuUsage, handshakes: number): number {
  return handshakes > 0 ? Math.round((usage.cpuUs / handshakes) * 10) / 10 : 0;
}
