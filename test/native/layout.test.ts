// The C header is generated from the TypeScript layouts; the addon says what it was
// compiled with, and it must be what the TypeScript side declares now (a stale build
// or a hand-edited header fails here).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAddon } from '../../src/native/addon.ts';
import { layoutConstants } from '../../src/native/layout.ts';

const loaded = loadAddon();
test('the addon was compiled against the layouts the TypeScript side declares', { skip: loaded.ok ? false : loaded.reason }, () => {
  if (!loaded.ok) return;
  assert.deepEqual(loaded.addon.layout(), layoutConstants());
});
