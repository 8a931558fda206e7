// The engines a terminate-mode e2e suite runs on: both where the addon loads (one suite,
// run twice), else only `node` (and the native run is reported as skipped).
import { test } from 'node:test';
import { loadAddon } from '../../src/native/addon.ts';
import { skipBecause } from './missing-peers.ts';

export type Engine = 'native' | 'node';

const loaded = loadAddon();
export const ENGINES: readonly Engine[] = loaded.ok ? ['native', 'node'] : ['node'];

// Through the one peer check: with WARMSHAKE_REQUIRE_PEERS=1 (CI) a missing addon fails.
if (!loaded.ok) test('engine native', { skip: skipBecause(`native addon not loaded: ${loaded.reason}`) }, () => {});
