// Loads the compiled engine once per thread, or says why it cannot (then engine `node`).
// WARMSHAKE_NATIVE_SANITIZE=1 loads the AddressSanitizer build instead (docs/native.md).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ADDON, ADDON_ASAN, BUILD_ERROR } from './build.ts';
import type { NativeAddon } from './types.ts';

export type AddonState = { ok: true; addon: NativeAddon; file: string } | { ok: false; reason: string };

let state: AddonState | undefined;

export function loadAddon (): AddonState {
  if (state) return state;
  const file = process.env.WARMSHAKE_NATIVE_SANITIZE === '1' ? ADDON_ASAN : ADDON;
  if (!existsSync(file)) {
    // build-error.txt holds the compiler's failure (`cc: spawnSync cc ENOENT`, `cc failed:`), not a sentence.
    const why = existsSync(BUILD_ERROR) ? `not built: ${readFileSync(BUILD_ERROR, 'utf8').split('\n')[0]}` : 'not built (run `npm run build:native`)';
    state = { ok: false, reason: `native addon ${why}` };
    return state;
  }
  try {
    state = { ok: true, addon: createRequire(import.meta.url)(file) as NativeAddon, file };
  } catch (err) {
    state = { ok: false, reason: `native addon does not load: ${(err as Error).message}` };
  }
  return state;
}
