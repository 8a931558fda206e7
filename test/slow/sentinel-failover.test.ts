// Slow: a Sentinel set on loopback (one master, one replica, three `redis-server
// --sentinel`, quorum 2) behind two warmshake nodes; the master is killed under a steady
// cross-node load. See failover.ts for what must hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startRedis, startRedisSentinel, type RedisSentinelHandle } from '../../bench/redis-server.ts';
import { redisSkipReason } from '../helpers/missing-peers.ts';
import { run } from '../helpers/peers.ts';
import { masterKilledUnderLoad } from './failover.ts';

const NAME = 'warmshake-failover';
const cli = async (port: number, ...args: string[]): Promise<string> => (await run('redis-cli', ['-p', String(port), ...args])).stdout;

test('Sentinel: the master killed under cross-node load fails no handshake; resumption and the ticket ring come back on the promoted replica', { skip: redisSkipReason(), timeout: 600_000 }, async (t) => {
  const master = await startRedis(t);
  const replica = await startRedis(t, ['--replicaof', '127.0.0.1', String(master.port)]);
  const conf = [`sentinel down-after-milliseconds ${NAME} 1000`, `sentinel failover-timeout ${NAME} 10000`];
  const sentinels: RedisSentinelHandle[] = [];
  for (let i = 0; i < 3; i++) sentinels.push(await startRedisSentinel(t, master, NAME, 2, conf));
  // Failover needs the replica in sync and every sentinel knowing the other two (they meet through the master, every 2 s).
  for (let i = 0; ; i++) {
    const synced = /master_link_status:up/.test(await cli(replica.port, 'info', 'replication'));
    const met = await Promise.all(sentinels.map(async (s) => /num-other-sentinels\n2\n/.test(await cli(s.port, 'sentinel', 'master', NAME))));
    if (synced && met.every(Boolean)) break;
    assert.ok(i < 600, 'the Sentinel set did not form within 120 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  const masterPort = async () => (await cli(sentinels[0]!.port, 'sentinel', 'get-master-addr-by-name', NAME)).trim().split('\n')[1];
  const seconds = await masterKilledUnderLoad(t, { sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`), name: NAME }, {
    kill: () => master.kill(),
    promoted: async () => { assert.equal(await masterPort(), String(replica.port)); },
  });
  t.diagnostic(`cross-node resumption back ${seconds.toFixed(1)} s after the master was killed (down-after 1 s)`);
});
