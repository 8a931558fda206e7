import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/session-cache/memory-store.ts';
import { storeConformance } from './conformance.ts';

storeConformance('memory store', (options) => new MemoryStore(options));

test('memory store: a value leaving the cache is zeroed', async () => {
  const store = new MemoryStore({ size: 1 });
  // Reach the stored copy through the entry list: the store hands out copies only, so
  // zeroing is checked by spying on Buffer.from for the copy it keeps.
  const kept: Buffer[] = [];
  const from = Buffer.from;
  Buffer.from = ((...args: Parameters<typeof Buffer.from>) => {
    const out = (from as (...a: unknown[]) => Buffer).apply(Buffer, args);
    kept.push(out);
    return out;
  }) as typeof Buffer.from;
  try {
    store.setSync(Buffer.from('k1'), Buffer.alloc(32, 0xab));
  } finally {
    Buffer.from = from;
  }
  const value = kept.find((buf) => buf.length === 32);
  assert.ok(value !== undefined);
  assert.ok(value.every((byte) => byte === 0xab));
  store.setSync(Buffer.from('k2'), Buffer.alloc(32, 0xcd));
  assert.ok(value.every((byte) => byte === 0), 'evicted value zeroed');
  assert.equal(store.stats().evictions, 1);
});

test('memory store: bytes counts keys and values held', () => {
  const store = new MemoryStore();
  store.setSync(Buffer.from('key'), Buffer.alloc(100));
  store.setSync(Buffer.from('key'), Buffer.alloc(50));
  assert.equal(store.stats().bytes, 53);
  store.deleteSync(Buffer.from('key'));
  assert.equal(store.stats().bytes, 0);
});
