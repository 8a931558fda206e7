// One behaviour suite for every SessionStore (undici's cache-store-test-utils): the memory
// and shared-memory stores run it here, the Redis store runs it against a real
// redis-server. Nothing here assumes a store answers synchronously.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SessionStore, StoreOptions, StoreStats } from '../../src/session-cache/store.ts';

export interface ConformanceOptions {
  /** What a lookup of an entry past its ttl reports: stores that drop expired entries themselves say 'unknown'. */
  expiredMiss: 'expired' | 'unknown';
  /** The store keeps at most `size` entries, dropping the oldest (a Redis tier may leave that to Redis). */
  evictsOldest: boolean;
  /** `stats()` knows its entries and capacity exactly (a Redis tier would need a full SCAN, so it reports 0). */
  countsEntries: boolean;
  /** Why the suite cannot run here (a peer missing): every test is still registered, and skipped. */
  skip: string | false;
}

export const DEFAULT_CONFORMANCE_OPTIONS: ConformanceOptions = Object.freeze({
  expiredMiss: 'expired',
  evictsOldest: true,
  countsEntries: true,
  skip: false,
});

type Make = (options: StoreOptions) => Promise<SessionStore> | SessionStore;

const BASE: StoreOptions = { size: 100, lifetime: 60_000, maxEntryBytes: 2048, maxKeyBytes: 64 };

const b = (text: string): Buffer => Buffer.from(text);

type Counters = Omit<StoreStats, 'tier' | 'capacity' | 'bytes'>;

function counters (stats: StoreStats, keys: readonly (keyof Counters)[]): Partial<Counters> {
  return Object.fromEntries(keys.map((k) => [k, stats[k]]));
}

export function storeConformance (name: string, make: Make, suite: Partial<ConformanceOptions> = {}): void {
  const opts = { ...DEFAULT_CONFORMANCE_OPTIONS, ...suite };

  async function open (t: { after: (fn: () => Promise<void>) => void }, options: Partial<StoreOptions> = {}): Promise<SessionStore> {
    const store = await make({ ...BASE, ...options });
    t.after(() => store.close());
    return store;
  }

  test(`${name}: unknown key is a miss named after the tier`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    const result = await store.get(b('nope'));
    assert.equal(result.value, undefined);
    assert.equal(result.miss, 'unknown');
    assert.equal(result.tier, store.tier);
  });

  test(`${name}: set then get returns the value and its ttl`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    assert.equal(await store.set(b('k1'), b('v1')), true);
    const result = await store.get(b('k1'));
    assert.deepEqual(result.value, b('v1'));
    assert.equal(result.miss, undefined);
    assert.ok(result.ttl !== undefined && result.ttl > 0 && result.ttl <= BASE.lifetime, `ttl ${result.ttl}`);
    assert.equal(await store.set(b('k2'), b('v2'), 5_000), true);
    const short = await store.get(b('k2'));
    assert.ok(short.ttl !== undefined && short.ttl > 0 && short.ttl <= 5_000, `ttl ${short.ttl}`);
  });

  test(`${name}: values are copied in and out, never aliased`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    const key = b('key');
    const value = b('original');
    await store.set(key, value);
    value.fill(0x58);
    key.write('KEY');
    const first = await store.get(b('key'));
    assert.deepEqual(first.value, b('original'));
    first.value!.fill(0);
    assert.deepEqual((await store.get(b('key'))).value, b('original'));
  });

  test(`${name}: overwrite keeps one entry with the new value`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    await store.set(b('k'), b('one'));
    await store.set(b('k'), b('two, longer than one'));
    assert.deepEqual((await store.get(b('k'))).value, b('two, longer than one'));
    if (opts.countsEntries) assert.equal(store.stats().entries, 1);
  });

  test(`${name}: delete removes, and says whether there was something`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    await store.set(b('k'), b('v'));
    assert.equal(await store.delete(b('k')), true);
    assert.equal((await store.get(b('k'))).miss, 'unknown');
    assert.equal(await store.delete(b('k')), false);
    assert.equal(await store.delete(b('never')), false);
    if (opts.countsEntries) assert.equal(store.stats().entries, 0);
  });

  test(`${name}: clear removes everything and counts it`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    for (const k of ['a', 'b', 'c']) await store.set(b(k), b(`value ${k}`));
    assert.equal(await store.clear(), 3);
    if (opts.countsEntries) assert.equal(store.stats().entries, 0);
    for (const k of ['a', 'b', 'c']) assert.equal((await store.get(b(k))).miss, 'unknown');
    assert.equal(await store.set(b('a'), b('again')), true);
    assert.deepEqual((await store.get(b('a'))).value, b('again'));
  });

  test(`${name}: list is newest first, limited, with sizes and times`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    for (let i = 0; i < 5; i++) await store.set(b(`key-${i}`), Buffer.alloc(10 + i, i));
    const all = await store.list(100);
    assert.deepEqual(all.map((e) => e.key.toString()), ['key-4', 'key-3', 'key-2', 'key-1', 'key-0']);
    assert.deepEqual(all.map((e) => e.bytes), [14, 13, 12, 11, 10]);
    for (const e of all) {
      assert.ok(e.age >= 0 && e.age < BASE.lifetime, `age ${e.age}`);
      assert.ok(e.ttl > 0 && e.ttl <= BASE.lifetime, `ttl ${e.ttl}`);
    }
    assert.deepEqual((await store.list(2)).map((e) => e.key.toString()), ['key-4', 'key-3']);
    assert.deepEqual(await store.list(0), []);
  });

  test(`${name}: binary keys and values round-trip exactly`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const keys = [
      Buffer.from([0]), Buffer.from([0, 0]), Buffer.from([0xff]), Buffer.from([0xff, 0]),
      Buffer.from([0xc3, 0xa9]), Buffer.from([0xe9]), randomBytes(32), Buffer.alloc(64, 0xaa),
    ];
    for (const [i, key] of keys.entries()) assert.equal(await store.set(key, Buffer.concat([every, Buffer.from([i])])), true);
    for (const [i, key] of keys.entries()) {
      assert.deepEqual((await store.get(key)).value, Buffer.concat([every, Buffer.from([i])]), `key ${key.toString('hex')}`);
    }
    assert.equal(await store.set(b('empty'), Buffer.alloc(0)), true);
    assert.deepEqual((await store.get(b('empty'))).value, Buffer.alloc(0));
  });

  test(`${name}: many entries of many sizes round-trip`, { skip: opts.skip }, async (t) => {
    // Session-sized values (a store may provision memory for typical sessions, not for
    // `size` values of maxEntryBytes each), plus a few of the largest size.
    const store = await open(t, { size: 300 });
    // Keys of 2 to 64 bytes, unique by their first two.
    const entries = Array.from({ length: 300 }, (_, i) => [Buffer.concat([Buffer.from([i >> 8, i & 0xff]), randomBytes(i % 63)]), randomBytes((i * 37) % 257)] as const);
    for (const [k, v] of entries) assert.equal(await store.set(k, v), true);
    for (const [k, v] of entries) assert.deepEqual((await store.get(k)).value, v);
    if (opts.countsEntries) assert.equal(store.stats().entries, 300);
    const big = randomBytes(BASE.maxEntryBytes);
    const bigKey = Buffer.alloc(BASE.maxKeyBytes, 0x42);
    assert.equal(await store.set(bigKey, big), true);
    assert.deepEqual((await store.get(bigKey)).value, big);
  });

  test(`${name}: an entry past its ttl is a miss`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    await store.set(b('short'), b('v'), 60);
    await store.set(b('long'), b('v'));
    await sleep(150);
    const result = await store.get(b('short'));
    assert.equal(result.value, undefined);
    assert.equal(result.miss, opts.expiredMiss);
    assert.deepEqual((await store.get(b('long'))).value, b('v'));
    assert.deepEqual((await store.list(10)).map((e) => e.key.toString()), ['long']);
    if (opts.expiredMiss === 'expired') {
      assert.equal(store.stats().expired, 1);
      assert.equal((await store.get(b('short'))).miss, 'unknown', 'an expired entry is removed when found');
    }
  });

  test(`${name}: the default ttl is the store lifetime`, { skip: opts.skip }, async (t) => {
    // Long enough that the first lookup hits even on a stalled machine; the expiry is
    // then waited for, not assumed after a fixed sleep.
    const lifetime = 1500;
    const store = await open(t, { lifetime });
    await store.set(b('k'), b('v'));
    const hit = await store.get(b('k'));
    assert.ok(hit.ttl !== undefined && hit.ttl > 0 && hit.ttl <= lifetime, `ttl ${hit.ttl}`);
    await sleep(lifetime);
    const deadline = Date.now() + 30_000;
    while ((await store.get(b('k'))).value !== undefined) {
      assert.ok(Date.now() < deadline, 'still there 30 s past its lifetime');
      await sleep(50);
    }
  });

  test(`${name}: values over maxEntryBytes are refused and counted`, { skip: opts.skip }, async (t) => {
    const store = await open(t, { maxEntryBytes: 300 });
    assert.equal(await store.set(b('big'), Buffer.alloc(301, 1)), false);
    assert.equal((await store.get(b('big'))).miss, 'unknown');
    assert.equal(await store.set(b('fits'), Buffer.alloc(300, 2)), true);
    assert.deepEqual((await store.get(b('fits'))).value, Buffer.alloc(300, 2));
    const stats = store.stats();
    assert.equal(stats.oversize, 1);
    assert.equal(stats.stores, 1);
    if (opts.countsEntries) assert.equal(stats.entries, 1);
  });

  if (opts.evictsOldest) {
    test(`${name}: when full the oldest goes first`, { skip: opts.skip }, async (t) => {
      const store = await open(t, { size: 3 });
      for (const k of ['a', 'b', 'c', 'd']) assert.equal(await store.set(b(k), b(`v${k}`)), true);
      assert.equal((await store.get(b('a'))).miss, 'unknown');
      for (const k of ['b', 'c', 'd']) assert.deepEqual((await store.get(b(k))).value, b(`v${k}`));
      // An overwrite makes the entry the newest again.
      await store.set(b('b'), b('vb2'));
      await store.set(b('e'), b('ve'));
      assert.equal((await store.get(b('c'))).miss, 'unknown');
      assert.deepEqual((await store.list(10)).map((e) => e.key.toString()), ['e', 'b', 'd']);
      const stats = store.stats();
      assert.equal(stats.evictions, 2);
      assert.equal(stats.entries, 3);
      assert.equal(stats.capacity, 3);
    });
  }

  test(`${name}: stats count exactly`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    const before = store.stats();
    assert.equal(before.tier, store.tier);
    if (opts.countsEntries) assert.equal(before.capacity, BASE.size);
    for (const k of ['a', 'b', 'c']) await store.set(b(k), b('v'));
    await store.set(b('a'), b('v2'));
    await store.get(b('a'));
    await store.get(b('b'));
    await store.get(b('x'));
    await store.delete(b('c'));
    await store.get(b('c'));
    await store.set(b('huge'), Buffer.alloc(BASE.maxEntryBytes + 1));
    const keys = ['lookups', 'hits', 'misses', 'stores', 'evictions', 'oversize', 'errors'] as const;
    assert.deepEqual(counters(store.stats(), keys), { lookups: 4, hits: 2, misses: 2, stores: 4, evictions: 0, oversize: 1, errors: 0 });
    if (opts.countsEntries) assert.equal(store.stats().entries, 2);
    if (opts.expiredMiss === 'expired') assert.equal(store.stats().expired, 0);
  });

  test(`${name}: concurrent calls do not interfere`, { skip: opts.skip }, async (t) => {
    const store = await open(t);
    const keys = Array.from({ length: 50 }, (_, i) => b(`c${i}`));
    assert.deepEqual(await Promise.all(keys.map((k) => store.set(k, Buffer.concat([k, k])))), keys.map(() => true));
    const results = await Promise.all(keys.map((k) => store.get(k)));
    results.forEach((r, i) => assert.deepEqual(r.value, Buffer.concat([keys[i], keys[i]])));
  });
}
