// One session store and one ticket ring for both engines: a session made on engine node
// resumes on engine native after a reload, and the other way round (same record
// framing, same session id context, same ticket key binding and format).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { sClient } from '../helpers/peers.ts';
import { freePort } from '../../bench/ports.ts';
import { startWarmshake, terminateConfig, type LogRecord } from '../helpers/warmshake.ts';

const isNative = (l: LogRecord): boolean => l.engine === 'native';

if (ENGINES.includes('native')) {
  for (const [from, to] of [['node', 'native'], ['native', 'node']] as const) {
    test(`sessions made on engine ${from} resume on engine ${to} after a reload (TLS 1.2 id, TLS 1.3 ticket)`, async (t) => {
      const dir = tempDir(t);
      const cert = writeCert(dir);
      const backend = await httpBackend(t);
      const config = terminateConfig({ engine: from, port: await freePort(), backendPort: backend.port, ...cert, global: { shutdown_timeout: '1s' } });
      const ws = await startWarmshake(t, dir, config);
      const port = ws.ports.https;
      const id = join(dir, 'id.sess');
      const ticket = join(dir, 'ticket.sess');
      assert.equal((await sClient({ port, tls: '1.2', noTicket: true, servername: 'localhost', sessOut: id })).fresh, 1);
      assert.equal((await sClient({ port, tls: '1.3', servername: 'localhost', sessOut: ticket })).fresh, 1);
      const made = await ws.waitForLog((l) => l.msg === 'handshake full' && l.version === 'TLSv1.3');
      assert.equal(isNative(made), from === 'native');
      ws.rewrite({ ...config, global: { ...(config.global as object), engine: to } });
      ws.child.kill('SIGHUP');
      await ws.waitForLog((l) => l.msg === 'configuration reloaded');
      assert.equal((await sClient({ port, tls: '1.2', noTicket: true, servername: 'localhost', sessIn: id })).reused, 1);
      assert.equal((await sClient({ port, tls: '1.3', servername: 'localhost', sessIn: ticket })).reused, 1);
      const byId = await ws.waitForLog((l) => l.resumed === true && l.method === 'id');
      const byTicket = await ws.waitForLog((l) => l.resumed === true && l.method === 'ticket');
      assert.equal(isNative(byId), to === 'native');
      assert.equal(isNative(byTicket), to === 'native');
    });
  }
}
