// The engines a terminate-mode e2e suite runs on: both where the addon loads (one suite,
// run twice), else only `node` (and the native run is reported as skipped).
import { test } from 'node:test';
import { loadAddon } from '../../src/native/addon.ts';

export type Engine = 'native' | 'node';

const loaded = loadAddon();
export const ENGINES: readonly Engine[] = loaded.ok ? ['native', 'node'] : ['node'];

if (!loaded.ok) test('engine native', { skip: loaded.reason }, () => {});
