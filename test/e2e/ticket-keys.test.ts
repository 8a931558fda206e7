// The ticket-key ring: the newest key encrypts, the last `keep` still decrypt (DESIGN.md 6).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { sClient } from '../helpers/peers.ts';
import { freePort } from '../../bench/ports.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';
import { ENGINES } from '../helpers/engines.ts';

for (const engine of ENGINES) {
  for (const tls of ['1.2', '1.3'] as const) {
    test(`[${engine}] TLS ${tls}: a ticket resumes through keep rotations and misses after keep + 1`, async (t) => {
      const dir = tempDir(t);
      const cert = writeCert(dir);
      const backend = await httpBackend(t);
      const socket = join(dir, 'admin.sock');
      const keep = 2;
      const ws = await startWarmshake(t, dir, terminateConfig({ engine, port: await freePort(), backendPort: backend.port, ...cert, keep, global: { admin: { socket } } }));
      const port = ws.ports.https;
      const sess = join(dir, 'ticket.sess');
      assert.equal((await sClient({ port, tls, sessOut: sess })).fresh, 1);
      // -sess_in only: the file keeps the ticket made under the first key.
      for (let rotation = 1; rotation <= keep; rotation++) {
        assert.match(await sendAdminCommand(socket, 'rotate keys'), /ticket keys rotated/);
        const r = await sClient({ port, tls, sessIn: sess });
        assert.equal(r.reused, 1, `after ${rotation} rotation(s) the old ticket should resume`);
      }
      await sendAdminCommand(socket, 'rotate keys');
      const r = await sClient({ port, tls, sessIn: sess });
      assert.equal(r.reused, 0, `after ${keep + 1} rotations the old key must be gone`);
      await ws.waitForLog((l) => l.miss === 'unknown_ticket_key');
      const keys = await sendAdminCommand(socket, 'show keys');
      const rows = keys.split('\n').filter((l) => /^\d+ [0-9a-f]{32} /.test(l));
      assert.equal(rows.length, keep + 1, keys);
      assert.match(rows[0], / encrypt /);
    });
  }
}
