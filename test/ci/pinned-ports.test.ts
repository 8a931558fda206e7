// `bind: host:0` with several workers: every worker, and every worker of a reload, must
// be given the port the first one got (they share it through SO_REUSEPORT).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config } from '../../src/config/types.ts';
import { hasPortZero, pinPorts } from '../../src/runtime/pinned-ports.ts';

const config = (binds: Record<string, number>): Config => ({
  frontends: Object.entries(binds).map(([name, port]) => ({ name, bind: { host: '127.0.0.1', port } })),
}) as unknown as Config;

test('port 0 is replaced by the port held under the same frontend name; fixed ports stay', () => {
  const c = config({ https: 0, admin: 8443, other: 0 });
  assert.equal(hasPortZero(c), true);
  const pinned = pinPorts(c, { https: 40123, admin: 8443 });
  assert.deepEqual(pinned.frontends.map((f) => [f.name, f.bind.port]), [['https', 40123], ['admin', 8443], ['other', 0]]);
  assert.equal(c.frontends[0].bind.port, 0, 'the original config is not changed');
  assert.ok(Object.isFrozen(pinned) && Object.isFrozen(pinned.frontends[0].bind));
});

test('nothing to pin: the same config object', () => {
  const c = config({ https: 8443 });
  assert.equal(hasPortZero(c), false);
  assert.equal(pinPorts(c, { https: 8443 }), c);
  const zero = config({ https: 0 });
  assert.equal(pinPorts(zero, {}), zero, 'no port known yet');
});
