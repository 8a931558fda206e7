// Slow: a Redis Cluster on loopback (three masters, one replica each) behind two
// warmshake nodes; the master that holds the ticket-key ring is killed under a steady
// cross-node load and its replica takes over. See failover.ts for what must hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startRedisCluster } from '../../bench/redis-server.ts';
import { redisSkipReason } from '../helpers/missing-peers.ts';
import { run } from '../helpers/peers.ts';
import { masterKilledUnderLoad } from './failover.ts';

const RING = 'warmshake:tk:ring';
const cli = async (port: number, ...args: string[]): Promise<string> => (await run('redis-cli', ['-p', String(port), ...args])).stdout;

interface Node { port: number; master: boolean; failed: boolean; slots: Array<[number, number]> }

/** `cluster nodes` as one node sees it: `id addr@bus flags master ping pong epoch state slots...`. */
async function clusterNodes (port: number): Promise<Node[]> {
  return (await cli(port, 'cluster', 'nodes')).trim().split('\n').map((line) => {
    const f = line.split(' ');
    const flags = f[2]!.split(',');
    const slots = f.slice(8).filter((r) => !r.startsWith('[')).map((r) => r.split('-').map(Number))
      .map(([from, to]) => [from!, to ?? from!] as [number, number]);
    return { port: Number(/:(\d+)@/.exec(f[1]!)?.[1]), master: flags.includes('master'), failed: flags.includes('fail'), slots };
  });
}

test('Cluster: the master holding the ticket ring killed under cross-node load fails no handshake; resumption comes back on its promoted replica', { skip: redisSkipReason(), timeout: 600_000 }, async (t) => {
  const cluster = await startRedisCluster(t, 1);
  // A replica takes over only once it has synced with its master.
  for (let i = 0; ; i++) {
    const roles = await Promise.all(cluster.ports.map(async (p) => await cli(p, 'info', 'replication')));
    const replicas = roles.filter((r) => /role:slave/.test(r));
    if (replicas.length === 3 && replicas.every((r) => /master_link_status:up/.test(r))) break;
    assert.ok(i < 600, `the replicas did not sync within 120 s: ${roles.join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const slot = Number((await cli(cluster.ports[0]!, 'cluster', 'keyslot', RING)).trim());
  const owner = async (port: number) => (await clusterNodes(port)).find((n) => n.master && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b));
  const victim = (await owner(cluster.ports[0]!))!.port;
  const witness = cluster.ports.find((p) => p !== victim)!;
  const seconds = await masterKilledUnderLoad(t, { cluster: cluster.urls }, {
    kill: () => cluster.kill(victim),
    promoted: async () => {
      const now = await owner(witness);
      assert.ok(now && now.port !== victim, `a replica owns the ring slot: ${await cli(witness, 'cluster', 'nodes')}`);
      assert.match(await cli(witness, 'cluster', 'info'), /cluster_state:ok/);
    },
  });
  t.diagnostic(`cross-node resumption back ${seconds.toFixed(1)} s after the master was killed (cluster-node-timeout 2 s)`);
});
