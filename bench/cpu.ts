// Server CPU per handshake: utime + stime of the server's whole process tree (all of a
// process's threads are in its /proc/PID/stat), read before and after a run, divided by
// the handshakes the client completed. Clock ticks are 10 ms, so a run must cost the
// server at least a second of CPU for the figure to be good to 1%.
import { CLOCK_TICKS, processTree, readStat } from './proc.ts';

export interface CpuSample { ticks: Map<number, number>; at: number }

export interface CpuUsage {
  /** Server CPU over the interval, microseconds. */
  cpuUs: number;
  /** Wall time of the interval, microseconds. */
  wallUs: number;
  /** cpuUs / wallUs in percent: 100 = one core busy all the time. */
  cpuPct: number;
}

export function sampleCpu (roots: readonly number[]): CpuSample {
  const ticks = new Map<number, number>();
  for (const root of roots) {
    for (const pid of processTree(root)) {
      const stat = readStat(pid);
      if (stat) ticks.set(pid, stat.utime + stat.stime);
    }
  }
  return { ticks, at: performance.now() };
}

/** CPU used between two samples; a process born in between counts from zero. */
export function cpuBetween (before: CpuSample, after: CpuSample): CpuUsage {
  let ticks = 0;
  for (const [pid, t] of after.ticks) ticks += t - (before.ticks.get(pid) ?? 0);
  const cpuUs = (ticks / CLOCK_TICKS) * 1e6;
  const wallUs = (after.at - before.at) * 1000;
  return { cpuUs, wallUs, cpuPct: wallUs > 0 ? Math.round((cpuUs / wallUs) * 1000) / 10 : 0 };
}

export function perHandshakeUs (usage: CpuUsage, handshakes: number): number {
  return handshakes > 0 ? Math.round((usage.cpuUs / handshakes) * 10) / 10 : 0;
}
