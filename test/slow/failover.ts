// The Redis tier's master dies under a steady cross-node load (issue 15): two warmshake
// nodes, Python TLS 1.2 clients that each make a session on one node and resume it on
// the other (so each resumption needs the session from Redis), then the test kills the
// master and its replica takes over. What must hold: no handshake fails (a Redis outage
// only turns resumptions into full handshakes), cross-node resumption comes back by
// itself (how long it took is measured and reported), and both nodes keep one ticket-key
// ring: the one Redis had before, which the promoted replica holds.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { startLoad } from '../helpers/load.ts';
import { redisFleet } from '../helpers/redis-nodes.ts';

/** Seconds a failover may take here before the test gives up (a bound for a busy 2-core machine, not the measure). */
export const FAILOVER_DEADLINE = 120;

export interface Failover {
  /** Kills the master (SIGKILL). */
  kill (): Promise<void>;
  /** Resolves when the replica has taken over (Sentinel or Cluster says so). */
  promoted (): Promise<void>;
}

const newestKey = async (socket: string): Promise<string | undefined> => /^0 ([0-9a-f]{32}) /m.exec(await sendAdminCommand(socket, 'show keys'))?.[1];

async function until<T> (what: string, probe: () => Promise<T | undefined>, seconds = FAILOVER_DEADLINE): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  for (;;) {
    const value = await probe().catch((err: unknown) => { last = err; return undefined; });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs the scenario on `tier` (session_cache.redis keys); returns the seconds cross-node resumption was gone. */
export async function masterKilledUnderLoad (t: TestContext, tier: Record<string, unknown>, failover: Failover): Promise<number> {
  const fleet = await redisFleet(t, 2, false, tier);
  const [a, b] = fleet.sockets as [string, string];
  const ports = fleet.nodes.map((n) => n.ports.https!);
  const ring = await until('both nodes on one ring', async () => {
    const [ka, kb] = [await newestKey(a), await newestKey(b)];
    return ka && ka === kb ? ka : undefined;
  });

  const load = startLoad(ports, 4, '1.2', 'cross');
  t.after(() => load.stop().catch(() => undefined));
  await load.resumingSince(0, 10);
  const killedAt = Date.now() / 1000;
  await failover.kill();
  await until('the replica promoted', async () => { await failover.promoted(); return true; });
  const back = await Promise.race([
    load.resumingSince(killedAt, 10),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('cross-node resumption did not come back')), FAILOVER_DEADLINE * 1000).unref()),
  ]);
  const result = await load.stop();
  assert.equal(result.failed, 0, `no handshake may fail: ${JSON.stringify(result.failures)}`);
  assert.ok(result.timeline.some(([at, resumed]) => at > back && resumed));

  // The ring survived in the promoted replica: both nodes still hold it, and a rotation
  // made on one node after the failover reaches the other through the new master.
  assert.equal(await newestKey(a), ring);
  assert.equal(await newestKey(b), ring);
  const rotated = await until('a rotation on node A through the new master', async () => {
    await sendAdminCommand(a, 'rotate keys');
    const newest = await newestKey(a);
    return newest !== ring ? newest : undefined;
  });
  await until('node B on the rotated ring', async () => (await newestKey(b)) === rotated ? true : undefined, 30);
  return back - killedAt;
}
