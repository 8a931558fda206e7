// The folders of src/ form layers: no folder imports from a folder that imports it,
// directly or around a longer loop (issue 14). And bench/ stands on src/ (and its own
// launchers), never on the tests' helpers. A file at the top of src/ (errors.ts,
// diagnostics.ts, index.ts) counts as a folder of its own. Type-only imports count too:
// they tie the folders together just the same.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const BENCH = fileURLToPath(new URL('../../bench/', import.meta.url));
const TEST = fileURLToPath(new URL('../', import.meta.url));
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm;

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** `session-cache` for src/session-cache/x.ts, `cli` for src/cli/bench/y.ts, `errors.ts` for src/errors.ts. */
function folderOf (file: string): string {
  return relative(SRC, file).split('/')[0]!;
}

/** Folder → folders it imports from, with one importing file per edge for the message. */
function folderGraph (): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const to = folderOf(resolve(dirname(file), spec!));
      if (to !== from && !edges.has(to)) edges.set(to, `${relative(SRC, file)} imports ${spec}`);
    }
  }
  return graph;
}

/** Every cycle found by a depth-first walk, as the list of edges around it. */
function cycles (graph: Map<string, Map<string, string>>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (state.get(next) === 'open') {
        const loop = [...path.slice(path.indexOf(next)), next];
        found.push(loop.slice(1).map((to, i) => `${loop[i]} -> ${to} (${graph.get(loop[i]!)!.get(to)})`));
      } else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

test('the import lines are found: frontend/ imports balancer/ and tls/', () => {
  const frontend = folderGraph().get('frontend');
  assert.ok(frontend?.has('balancer') && frontend.has('tls'), 'the import parser no longer sees imports');
});

test('no folder of src/ imports from a folder that imports it', () => {
  const loops = cycles(folderGraph());
  assert.deepEqual(loops, [], `import cycles between folders:\n${loops.map((l) => l.join('\n  ')).join('\n')}`);
});

test('bench/ imports nothing from test/', () => {
  const found = sourceFiles(BENCH).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(IMPORT)]
    .filter(([, spec]) => resolve(dirname(file), spec!).startsWith(TEST))
    .map(([, spec]) => `${relative(BENCH, file)} imports ${spec}`));
  assert.deepEqual(found, []);
});
