// The balance algorithms on both engines, against real backends that say who they are:
// weighted round robin interleaves by weight and skips weight 0, leastconn sends new
// connections away from a server holding one, source sends a client to the server that
// engine node's SourceHash names (so both engines agree on where a client goes).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { SourceHash } from '../../src/balancer/algorithms.ts';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import type { ServerConfig } from '../../src/config/types.ts';
import { eventually, parseInfo } from '../admin/helpers.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';

interface Served { name: string; socket: TLSSocket }

/** One GET through warmshake; resolves with the backend's name once the answer is in. */
function get (port: number, close: boolean): Promise<Served> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\n${close ? 'Connection: close\r\n' : ''}\r\n`);
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      const m = /\r\n\r\nfrom (\w+)\n/.exec(text);
      if (m) resolve({ name: m[1], socket });
    });
    socket.on('error', reject);
  });
}

/** Backends `names` with their weights; the config's `app` backend lists them. */
async function start (t: TestContext, engine: string, balance: string, servers: Array<{ name: string; weight: number }>) {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const admin = join(dir, 'admin.sock');
  const list = [];
  for (const s of servers) list.push({ name: s.name, weight: s.weight, address: `127.0.0.1:${(await httpBackend(t, `from ${s.name}\n`)).port}` });
  const config = terminateConfig({ engine: engine as 'native' | 'node', backendPort: 0, ...cert, global: { admin: { socket: admin } } });
  const ws = await startWarmshake(t, dir, { ...config, backends: [{ name: 'app', balance, servers: list }] });
  await ws.waitForLog((l) => l.msg.startsWith('engine: ') && l.engine === engine);
  // The native run is native all the way: the frontend did not fall back to engine node.
  assert.equal(ws.logs.find((l) => /runs on engine node/.test(l.msg))?.msg, undefined);
  const conns = async (): Promise<string | undefined> => parseInfo(await sendAdminCommand(admin, 'show info')).get('CurrConns');
  return { port: ws.ports.https, conns, ws };
}

/** A GET that ends its connection, returned once the proxy has let go of it too. */
async function getAndClose (port: number, conns: () => Promise<string | undefined>, open: number): Promise<string> {
  const { name, socket } = await get(port, true);
  socket.end();
  await eventually(async () => ((await conns()) === String(open) ? true : undefined), `CurrConns ${open}`);
  return name;
}

for (const engine of ENGINES) {
  test(`[${engine}] roundrobin: weights 3 and 1 interleave (a a b a), weight 0 takes nothing`, async (t) => {
    const { port, conns } = await start(t, engine, 'roundrobin', [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }, { name: 'z', weight: 0 }]);
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push(await getAndClose(port, conns, 0));
    assert.deepEqual(seen, ['a', 'a', 'b', 'a', 'a', 'a', 'b', 'a']);
  });

  test(`[${engine}] leastconn: while one server holds a connection, new ones go to the other`, async (t) => {
    const { port, conns } = await start(t, engine, 'leastconn', [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }]);
    const held = await get(port, false);
    t.after(() => held.socket.destroy());
    const other = held.name === 'a' ? 'b' : 'a';
    for (let i = 0; i < 4; i++) assert.equal(await getAndClose(port, conns, 1), other, `connection ${i + 2}`);
  });

  test(`[${engine}] source: a client address goes to the server engine node's SourceHash names, every time`, async (t) => {
    const servers = ['a', 'b', 'c', 'd'].map((name) => ({ name, weight: name === 'd' ? 3 : 1 }));
    const { port, conns } = await start(t, engine, 'source', servers);
    const candidates = servers.map((s) => ({ config: { ...s, address: { host: '127.0.0.1', port: 0 } } as ServerConfig, active: 0 }));
    const expected = new SourceHash().pick(candidates, '127.0.0.1')?.config.name;
    for (let i = 0; i < 4; i++) assert.equal(await getAndClose(port, conns, 0), expected);
  });
}
