// The typed snapshot the admin side reads: what writers put in through the families
// comes back as named fields, summed over workers, with nothing to parse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedCounters } from '../../src/runtime/counters.ts';
import { counterFamily, readStats } from '../../src/runtime/worker-stats.ts';

test('readStats: handshakes, misses, errors, connections, servers and the Redis tier as named fields', () => {
  const counters = SharedCounters.create(64);
  const handshakes = counterFamily(counters, 'handshakes');
  handshakes.add(['https', 'full', 'none', 'TLSv1.3'], 5);
  handshakes.add(['https', 'resumed', 'ticket', 'TLSv1.3'], 3);
  handshakes.add(['https', 'resumed', 'id', 'TLSv1.2'], 2);
  counterFamily(counters, 'misses').add(['https', 'expired']);
  counterFamily(counters, 'connectionErrors').add(['https', 'handshake'], 4);
  const open = counterFamily(counters, 'connections');
  open.set(['https', '0'], 2);
  open.set(['https', '1'], 7);
  counterFamily(counters, 'serverConnections').add(['app', 's1'], 9);
  counterFamily(counters, 'serverErrors').add(['app', 's1']);
  counterFamily(counters, 'redisLookups').add(['redis', 'hit'], 6);
  counterFamily(counters, 'redisLookups').add(['redis', 'error']);
  counterFamily(counters, 'redisBreaker').set(['0'], 0);
  counterFamily(counters, 'redisBreaker').set(['1'], 2);
  counterFamily(counters, 'redisLatency').add(['0.001'], 4);
  counters.add('redisMicros', {}, 2000);

  const stats = readStats(SharedCounters.attach(counters.buffer).entries());
  assert.deepEqual(stats.handshakes.get('https'), { full: 5, resumed: 5, methods: { ticket: 3, id: 2 }, misses: { expired: 1 }, errors: 4 });
  assert.deepEqual([...stats.connections!], [['https', 9]]);
  assert.deepEqual([...stats.servers], [['app/s1', { connections: 9, errors: 1 }]]);
  assert.deepEqual(stats.redis, { lookups: { hit: 6, miss: 0, error: 1 }, timeouts: 0, dropped: 0, breaker: 'open', meanLatencyMs: 0.5 });
});

test('before any worker published: no connections, the breaker unknown', () => {
  const stats = readStats(SharedCounters.create(8).entries());
  assert.equal(stats.connections, undefined);
  assert.equal(stats.redis.breaker, 'unknown');
  assert.equal(stats.redis.meanLatencyMs, null);
});

test('a series too long for its slot is dropped, not truncated into another', () => {
  const counters = SharedCounters.create(8);
  counters.add('handshakes', { frontend: 'x'.repeat(300) });
  assert.deepEqual(counters.entries(), []);
});
