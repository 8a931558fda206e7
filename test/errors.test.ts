// docs/errors.md and src/errors.ts stay in step (fastify's test/internals/errors.test.js).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as errors from '../src/errors.ts';

const root = new URL('..', import.meta.url);

test('every error class has a unique WS_ERR_ code and is listed in docs/errors.md, and nothing else is', () => {
  const doc = readFileSync(new URL('docs/errors.md', root), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `(WS_ERR_[A-Z_]+)` \| `(\w+)` \|/gm)].map((m) => [m[1], m[2]]));
  const source = readFileSync(new URL('src/errors.ts', root), 'utf8');
  const inCode = new Map([...source.matchAll(/export class (\w+) extends WarmshakeError[\s\S]*?super\('(WS_ERR_[A-Z_]+)'/g)].map((m) => [m[2], m[1]]));
  assert.ok(inCode.size >= 8, `found ${inCode.size} error classes`);
  assert.deepEqual(new Map([...documented].sort()), new Map([...inCode].sort()));
  for (const name of inCode.values()) {
    const Class = (errors as Record<string, unknown>)[name] as { prototype: unknown };
    assert.ok(Class.prototype instanceof errors.WarmshakeError, `${name} extends WarmshakeError`);
  }
});

test('no error code is defined outside src/errors.ts', () => {
  const files = execFileSync('grep', ['-rl', "super('WS_ERR_", 'src'], { cwd: root, encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(files, ['src/errors.ts']);
});

test('docs/errors.md lists only errors that can happen: every class is raised somewhere in src/', () => {
  const source = readFileSync(new URL('src/errors.ts', root), 'utf8');
  const classes = [...source.matchAll(/export class (\w+) extends WarmshakeError/g)].map((m) => m[1]);
  for (const name of classes) {
    const users = execFileSync('grep', ['-rl', '--include=*.ts', `new ${name}(`, 'src'], { cwd: root, encoding: 'utf8' }).trim().split('\n');
    assert.ok(users.some((f) => f !== 'src/errors.ts'), `${name} is never raised`);
  }
});
