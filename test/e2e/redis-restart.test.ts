// An empty Redis restart costs no resumption (issue 15): the nodes keep the ticket keys
// they hold, and the first to take the rotation lock writes its ring back into the empty
// Redis, so tickets issued before the restart resume on every node after it. Two real
// warmshake nodes, a real redis-server killed and started again empty, openssl s_client.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { redisCluster } from '../helpers/redis-nodes.ts';
import { run, sClient } from '../helpers/peers.ts';
import { redisSkipReason } from '../helpers/missing-peers.ts';
import { ENGINES } from '../helpers/engines.ts';

const skip = redisSkipReason();

for (const engine of ENGINES) {
  test(`[${engine}] tickets issued before an empty Redis restart resume on both nodes after it`, { skip }, async (t) => {
    const c = await redisCluster(t, 2, true, {}, engine);
    const [a, b] = c.nodes.map((n) => n.ports.https);
    const sess = join(c.dir, 'before.sess');
    assert.equal((await sClient({ port: a!, tls: '1.3', sessOut: sess })).fresh, 1);
    for (const port of [a!, b!]) assert.equal((await sClient({ port, tls: '1.3', sessIn: sess })).reused, 1, `before the restart, port ${port}`);
    const keysBefore = await sendAdminCommand(c.sockets[0]!, 'show keys');

    await c.redis.restart();
    assert.equal((await run('redis-cli', ['-p', String(c.redis.port), 'dbsize'])).stdout.trim(), '0', 'Redis came back empty');
    // One node seeds the empty Redis with its ring within its poll interval.
    await Promise.race(c.nodes.map((n) => n.waitForLog((l) => /seeded it with this node's/.test(l.msg), 30_000)));
    for (const port of [a!, b!]) assert.equal((await sClient({ port, tls: '1.3', sessIn: sess })).reused, 1, `after the restart, port ${port}`);
    const names = (text: string) => [...text.matchAll(/^\d+ ([0-9a-f]{32}) /gm)].map((m) => m[1]);
    assert.deepEqual(names(await sendAdminCommand(c.sockets[0]!, 'show keys')), names(keysBefore), 'node A kept its keys');
    assert.deepEqual(names(await sendAdminCommand(c.sockets[1]!, 'show keys')), names(keysBefore), 'node B kept its keys');

    // The ring is shared again: a rotation on A reaches B, and the old ticket still resumes on both (keep: 2).
    await sendAdminCommand(c.sockets[0]!, 'rotate keys');
    const newest = names(await sendAdminCommand(c.sockets[0]!, 'show keys'))[0];
    let onB: string | undefined;
    for (let i = 0; i < 200 && onB !== newest; i++) {
      onB = names(await sendAdminCommand(c.sockets[1]!, 'show keys'))[0];
      if (onB !== newest) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(onB, newest, 'node B loaded the ring rotated by A');
    for (const port of [a!, b!]) assert.equal((await sClient({ port, tls: '1.3', sessIn: sess })).reused, 1, `after the rotation, port ${port}`);
  });
}
