// Resident memory of a server: the whole process tree (RSS, and PSS because nginx's
// workers share pages), and the shared-memory segment that holds its session cache,
// found in /proc/PID/smaps by its size. All three reserve the cache at start; how much
// of the segment is resident shows how far it has filled, apart from heaps and buffers
// that grow with any load.
import { readFileSync } from 'node:fs';
import { sharedStoreBytes } from '../src/session-cache/shared-memory-store.ts';
import { processTree, readKb } from './proc.ts';
import { nginxCacheMegabytes } from './servers/nginx.ts';
import type { ServerKind } from './servers/index.ts';

export interface Memory { rssKb: number; pssKb: number; processes: number }

export function measureMemory (root: number): Memory {
  const pids = processTree(root);
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of pids) {
    rssKb += readKb(pid, 'status', 'VmRSS');
    pssKb += readKb(pid, 'smaps_rollup', 'Pss');
  }
  return { rssKb, pssKb, processes: pids.length };
}

export interface Segment { sizeKb: number; rssKb: number }

/** Expected segment size in kB and how far off a mapping may be, per server. */
function expected (kind: ServerKind, sessions: number): { kb: number; tolerance: number } {
  switch (kind) {
    // Exactly what warmshake computes for `warmshake check` (max_entry_bytes default 2048).
    case 'warmshake': return { kb: sharedStoreBytes({ size: sessions, lifetime: 300_000, maxEntryBytes: 2048, maxKeyBytes: 64 }) / 1024, tolerance: 0.02 };
    // tune.ssl.cachesize blocks of "approximately 200 bytes" (measured: ~248 with headers).
    case 'haproxy': return { kb: (sessions * 248) / 1024, tolerance: 0.3 };
    case 'nginx': return { kb: nginxCacheMegabytes(sessions) * 1024, tolerance: 0.02 };
  }
}

/** The cache segment: the writable mapping closest to the expected size; its RSS is the largest over the processes (nginx: the worker that writes it). */
export function cacheSegment (root: number, kind: ServerKind, sessions: number): Segment | undefined {
  const want = expected(kind, sessions);
  let best: (Segment & { off: number }) | undefined;
  for (const pid of processTree(root)) {
    let text: string;
    try { text = readFileSync(`/proc/${pid}/smaps`, 'utf8'); } catch { continue; }
    for (const block of text.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
      const perms = block.split(' ', 2)[1] ?? '';
      if (!perms.startsWith('rw')) continue;
      const sizeKb = Number(/^Size:\s+(\d+) kB/m.exec(block)?.[1] ?? 0);
      const rssKb = Number(/^Rss:\s+(\d+) kB/m.exec(block)?.[1] ?? 0);
      const off = Math.abs(sizeKb - want.kb) / want.kb;
      if (off > want.tolerance) continue;
      if (!best || off < best.off || (off === best.off && rssKb > best.rssKb)) best = { sizeKb, rssKb, off };
    }
  }
  return best && { sizeKb: best.sizeKb, rssKb: best.rssKb };
}
