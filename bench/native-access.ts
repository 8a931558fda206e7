// The native engine's allow/deny lookup, timed (bench/native-access.c): builds a small
// executable from src/native/c/access.c with the addon's flags and prints ns per lookup
// for lists of 16 to 100,000 networks, beside the linear scan it replaced.
//
//   node bench/native-access.ts
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeIncludeDir, OUT } from '../src/native/build.ts';
import { layoutHeader } from '../src/native/layout.ts';

const include = nodeIncludeDir();
if (!include) throw new Error('node headers not found (see docs/native.md)');
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'ws_layout.h'), layoutHeader());
const sources = fileURLToPath(new URL('../src/native/c/', import.meta.url));
const exe = join(OUT, 'native-access-bench');
const cc = spawnSync(process.env.CC ?? 'cc', ['-std=c11', '-D_GNU_SOURCE', '-O2', '-Wall', '-Wextra', '-Werror', '-I', include, '-I', OUT, '-I', sources,
  fileURLToPath(new URL('./native-access.c', import.meta.url)), join(sources, 'access.c'), '-o', exe], { encoding: 'utf8' });
if (cc.status !== 0) throw new Error(`cc failed:\n${cc.stderr}`);
const r = spawnSync(exe, [], { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
