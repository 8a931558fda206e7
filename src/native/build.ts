// Builds the native engine with one plain compiler call (no node-gyp): the addon is a
// dozen C files, the headers ship in the `node` package (node_api.h and Node's own
// openssl/), and nothing is linked but libc: the SSL_* and EVP_* symbols resolve from the
// node binary when the addon loads. node-gyp would add a Python dependency and try to
// download headers that are already here. Why and how: docs/native.md.
//
//   node src/native/build.ts              build/native/warmshake.node
//   WARMSHAKE_NATIVE_SANITIZE=1 node ...  build/native/warmshake-asan.node (ASan + UBSan)
//   --optional                            never fail (npm install): write the reason instead
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layoutHeader } from './layout.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const OUT = join(ROOT, 'build', 'native');
export const ADDON = join(OUT, 'warmshake.node');
export const ADDON_ASAN = join(OUT, 'warmshake-asan.node');
/** Written when a build fails, so the engine can say why it runs on `node`. */
export const BUILD_ERROR = join(OUT, 'build-error.txt');
const SOURCES = fileURLToPath(new URL('./c/', import.meta.url));

/** Where node_api.h and openssl/ are: beside the running node, or in the `node` package. */
export function nodeIncludeDir (): string | undefined {
  const candidates = [
    join(dirname(dirname(realpathSync(process.execPath))), 'include', 'node'),
    join(ROOT, 'node_modules', 'node', 'node_modules', `node-${process.platform}-${process.arch}`, 'include', 'node'),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'openssl', 'ssl.h')));
}

export function compilerFlags (sanitize: boolean): string[] {
  const common = ['-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-Wshadow', '-Wvla', '-fPIC', '-shared', '-fvisibility=hidden', '-pthread'];
  return sanitize
    ? [...common, '-O1', '-g', '-fsanitize=address,undefined', '-fno-omit-frame-pointer', '-fno-sanitize-recover=undefined']
    : [...common, '-O2'];
}

export function build (sanitize: boolean): { ok: true; file: string } | { ok: false; reason: string } {
  const include = nodeIncludeDir();
  if (!include) return { ok: false, reason: 'node_api.h and openssl/ headers not found (the `node` package ships them)' };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'ws_layout.h'), layoutHeader());
  const sources = readdirSync(SOURCES).filter((f) => f.endsWith('.c')).sort().map((f) => join(SOURCES, f));
  const file = sanitize ? ADDON_ASAN : ADDON;
  const cc = process.env.CC ?? 'cc';
  const args = [...compilerFlags(sanitize), '-I', include, '-I', OUT, '-I', SOURCES, ...sources, '-o', `${file}.tmp`];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: `${cc}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `${cc} failed:\n${r.stderr}` };
  // Renamed into place: a worker loading the old file never sees half a new one.
  spawnSync('mv', ['-f', `${file}.tmp`, file]);
  return { ok: true, file };
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const optional = process.argv.includes('--optional');
  const sanitize = process.env.WARMSHAKE_NATIVE_SANITIZE === '1';
  const result = build(sanitize);
  if (result.ok) {
    if (!sanitize) rmSync(BUILD_ERROR, { force: true });
    console.log(`warmshake: native engine built: ${result.file}`);
  } else {
    mkdirSync(OUT, { recursive: true });
    if (!sanitize) writeFileSync(BUILD_ERROR, result.reason);
    console.error(`warmshake: native engine not built, engine node will be used: ${result.reason}`);
    if (!optional) process.exitCode = 1;
  }
}
