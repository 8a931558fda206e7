// The store conformance suite against the C get/set/delete, the same shared buffer read
// back by the TypeScript store, and the lock recovery when C holds the lock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { loadAddon } from '../../src/native/addon.ts';
import { SharedMemoryStore } from '../../src/session-cache/shared-memory-store.ts';
import { storeConformance } from '../session-cache/conformance.ts';
import { skipBecause } from '../helpers/missing-peers.ts';
import { NativeBackedStore } from './native-store.ts';

const loaded = loadAddon();
if (!loaded.ok) {
  test('native store', { skip: skipBecause(`native addon not loaded: ${loaded.reason}`) }, () => {});
} else {
  const addon = loaded.addon;
  storeConformance('native (C) store', (options) => new NativeBackedStore(addon, options));

  test('an entry written by C is read by TypeScript and the other way round', () => {
    const store = new NativeBackedStore(addon, { size: 50, lifetime: 60_000, maxEntryBytes: 4096, maxKeyBytes: 64 });
    const big = Buffer.alloc(1500, 7);
    for (let i = 0; i < 40; i++) assert.equal(store.setSync(Buffer.from(`c${i}`), i === 35 ? big : Buffer.from(`value ${i}`)), true);
    for (let i = 0; i < 40; i++) assert.equal(store.ts.setSync(Buffer.from(`t${i}`), Buffer.from(`ts ${i}`)), true);
    assert.deepEqual(store.ts.getSync(Buffer.from('c35')).value, big);
    assert.equal(store.ts.getSync(Buffer.from('c39')).value?.toString(), 'value 39');
    assert.equal(store.getSync(Buffer.from('t39')).value?.toString(), 'ts 39');
    // 80 sets into 50 slots: the oldest 30 (C's first ones) went, in both views.
    assert.equal(store.getSync(Buffer.from('c0')).miss, 'unknown');
    assert.equal(store.ts.stats().entries, 50);
  });

  test('a lock C holds in a thread that died is recovered, and the half-changed store wiped', async () => {
    const store = SharedMemoryStore.create({ size: 10, lifetime: 60_000, maxEntryBytes: 256, maxKeyBytes: 64 });
    store.setSync(Buffer.from('k'), Buffer.from('v'));
    const code = `
      const { workerData, parentPort, threadId } = require('node:worker_threads');
      const addon = require(workerData.file);
      const h = addon.storeOpen(new Uint8Array(workerData.buffer), workerData.layout, (threadId + 1) | ${0x40000000});
      addon.storeHoldLock(h);
      parentPort.postMessage('holding');`;
    const worker = new Worker(code, { eval: true, workerData: { file: loaded.file, buffer: store.buffer, layout: { ...store.layout, options: undefined } } });
    // Read at once: the worker's script ends after its message, and once the thread has
    // exited `worker.threadId` is -1 (seen under load).
    const id = worker.threadId;
    await new Promise((resolve) => worker.once('message', resolve));
    await worker.terminate();
    assert.equal(store.recoverLock(id), true);
    assert.equal(store.stats().resets, 1);
    assert.equal(store.getSync(Buffer.from('k')).miss, 'unknown');
    assert.equal(store.setSync(Buffer.from('k'), Buffer.from('v2')), true);
  });
}
