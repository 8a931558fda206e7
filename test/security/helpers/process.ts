// What the security tests read about a running warmshake from outside: its resident
// memory (the whole process: main thread and workers share one address space) and the
// `Name: value` lines of the admin socket's `show info`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { sendAdminCommand } from '../../../src/cli/ctl.ts';

/** VmRSS of `pid` in kB, from /proc/PID/status. */
export function rssKb (pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

export async function showInfo (socket: string): Promise<Record<string, string>> {
  const text = await sendAdminCommand(socket, 'show info');
  return Object.fromEntries(text.split('\n').filter((l) => l.includes(': ')).map((l) => {
    const at = l.indexOf(': ');
    return [l.slice(0, at), l.slice(at + 2)];
  }));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * An admin socket path in a directory of its own, removed only after warmshake has
 * stopped: `t.after` hooks run first-registered first, and a directory removed while
 * warmshake re-creates its socket in it (a reload) makes the removal fail, which skips
 * the hooks after it, the one that stops warmshake included.
 */
export function adminSocket (t: TestContext): { path: string; cleanUpAfterStop (): void } {
  const dir = mkdtempSync(join(tmpdir(), 'warmshake-admin-'));
  return { path: join(dir, 'admin.sock'), cleanUpAfterStop: () => t.after(() => rmSync(dir, { recursive: true, force: true })) };
}
