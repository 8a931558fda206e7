// TotalsReader: the admin sample of a quiet second gives the same figures as readTotals
// without building every series, and any count, cache figure, store or config change is
// read in full.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffTotals, readTotals, TotalsReader } from '../../src/admin/totals.ts';
import type { Config } from '../../src/config/types.ts';
import { SharedCounters } from '../../src/runtime/counters.ts';
import { counterFamily } from '../../src/runtime/worker-stats.ts';
import { SharedMemoryStore } from '../../src/session-cache/shared-memory-store.ts';

const storeOf = (): SharedMemoryStore => SharedMemoryStore.create({ size: 10, lifetime: 60_000, maxEntryBytes: 256, maxKeyBytes: 64 });

test('a quiet second reuses the figures; a count, a cache figure, a new store or config is read', () => {
  const counters = SharedCounters.create(64);
  const source = { counters, store: storeOf(), config: { frontends: [{ name: 'https' }] } as unknown as Config };
  const reader = new TotalsReader(source);
  const handshakes = counterFamily(counters, 'handshakes');
  handshakes.add(['https', 'full', 'none', 'TLSv1.2'], 2);

  const first = reader.read(1000);
  assert.deepEqual(first, readTotals(source, 1000));
  const quiet = reader.read(2000);
  assert.equal(quiet.at, 2000);
  assert.equal(quiet.frontends, first.frontends, 'nothing changed: the same figures');
  assert.deepEqual(diffTotals(quiet, first).frontends.https, { full: 0, resumed: 0, methods: {}, misses: {}, errors: 0 });

  // A count the workers add.
  handshakes.add(['https', 'resumed', 'id', 'TLSv1.2']);
  const counted = reader.read(3000);
  assert.notEqual(counted.frontends, first.frontends);
  assert.deepEqual(counted, readTotals(source, 3000));
  assert.equal(counted.frontends.https.resumed, 1);

  // A series that is new, even at zero... and a gauge set to a new value.
  counterFamily(counters, 'connections').set(['https', '0'], 0);
  assert.notEqual(reader.read(4000).frontends, counted.frontends);
  const settled = reader.read(5000);
  counterFamily(counters, 'connections').set(['https', '0'], 3);
  assert.notEqual(reader.read(6000).frontends, settled.frontends);

  // A cache lookup (a miss) the store counts.
  const before = reader.read(7000);
  source.store.getSync(Buffer.from('absent'));
  const missed = reader.read(8000);
  assert.equal(missed.cache.misses, before.cache.misses + 1);

  // A new store (a reload with a new cache) and a new config (a frontend more).
  source.store = storeOf();
  assert.equal(reader.read(9000).cache.misses, 0);
  source.config = { frontends: [{ name: 'https' }, { name: 'other' }] } as unknown as Config;
  assert.deepEqual(Object.keys(reader.read(10_000).frontends), ['https', 'other']);
});
