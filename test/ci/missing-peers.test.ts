// Skips that cannot hide: a test whose peer is missing is registered and reported as
// skipped with the package to install, and WARMSHAKE_REQUIRE_PEERS=1 (CI) turns the
// same absence into a failed run. Checked on a child `node --test` whose PATH holds no peer.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { run } from '../helpers/peers.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/needs-a-peer.ts', import.meta.url));

async function runFixture (requirePeers: boolean): Promise<{ code: number | null; out: string }> {
  // `env` sets PATH for the child only: an empty directory, so no peer is found.
  const r = await run('env', ['-i', `PATH=${fileURLToPath(new URL('./fixtures/', import.meta.url))}`,
    ...(requirePeers ? ['WARMSHAKE_REQUIRE_PEERS=1'] : []),
    process.execPath, '--disable-warning=ExperimentalWarning', '--test', '--test-reporter=tap', FIXTURE]);
  return { code: r.code, out: r.stdout + r.stderr };
}

test('a missing peer is a visible skip naming the Debian package', async () => {
  const { code, out } = await runFixture(false);
  assert.equal(code, 0, out);
  assert.match(out, /ok \d+ - needs redis-server # SKIP redis-server not on PATH \(apt-get install redis-server\)/);
  assert.match(out, /# skipped 1/);
  assert.match(out, /# pass 1/);
});

test('with WARMSHAKE_REQUIRE_PEERS=1 a missing peer fails the run and says what to install', async () => {
  const { code, out } = await runFixture(true);
  assert.notEqual(code, 0, out);
  assert.match(out, /not ok \d+ - required peer: redis-server not on PATH \(apt-get install redis-server\)/);
  assert.match(out, /WARMSHAKE_REQUIRE_PEERS=1 and redis-server not on PATH/);
  assert.match(out, /# fail 1/);
});
