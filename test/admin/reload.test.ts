// SIGHUP on a real `warmshake run -c FILE` process: a broken file is refused and the old
// configuration keeps serving; a good one is taken, the admin socket comes back, and a
// session made before the reload still resumes after it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { echoBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { freePort } from '../../bench/ports.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';
import { eventually, handshake, parseInfo } from './helpers.ts';

test('SIGHUP: a bad config keeps serving, a good one reloads and old sessions still resume', async (t) => {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await echoBackend(t);
  const socket = join(dir, 'admin.sock');
  const config = terminateConfig({ port: await freePort(), backendPort: backend.port, ...cert, tickets: false, global: { admin: { socket } } });
  const ws = await startWarmshake(t, dir, config);
  const port = ws.ports.https;
  const first = await handshake(port);
  assert.equal(first.resumed, false);
  assert.equal((await handshake(port, first.session)).resumed, true);

  ws.rewrite('global: { workers: 1\nfrontends: [ this is not yaml');
  ws.child.kill('SIGHUP');
  const refused = await ws.waitForLog((l) => l.msg === 'reload refused: the running configuration stays');
  assert.equal(refused.level, 50);
  assert.equal((await handshake(port, first.session)).resumed, true, 'still serving, cache intact');
  ws.rewrite({ ...config, frontends: 'none' });
  ws.child.kill('SIGHUP');
  await ws.waitForLog((l) => l.msg === 'reload refused: the running configuration stays' && String(l.err).includes('frontends'));
  assert.equal((await handshake(port)).resumed, false);

  ws.rewrite({ ...config, global: { ...(config.global as object), resumption_alert_below: 0.25 } });
  ws.child.kill('SIGHUP');
  await ws.waitForLog((l) => l.msg === 'configuration reloaded');
  assert.equal((await handshake(port, first.session)).resumed, true, 'a session from before the reload resumes');
  const info = await eventually(async () => {
    const i = parseInfo(await sendAdminCommand(socket, 'show info'));
    return i.get('SslResumedHandshakes') === '3' ? i : undefined;
  }, 'show info after the reload');
  assert.equal(info.get('ResumptionAlertBelow_pct'), '25');
  assert.equal(info.get('SslFullHandshakes'), '2');
  assert.equal(await ws.stop('SIGTERM'), 0);
});
