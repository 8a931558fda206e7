// The process's listening sockets (runtime/listeners.ts, the addon's listenerOpen): one
// per frontend address on either engine, `host:0` pinned to the port it got, kept while a
// live config uses the address, closed after; an address that cannot be bound names the
// frontend and the address; an engine-node server on a dup() (listenerDup) closes only
// its copy. Real sockets, read back from /proc.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { Worker } from 'node:worker_threads';
import { test } from 'node:test';
import { deepFreeze } from '../../src/config/load.ts';
import { validateConfig } from '../../src/config/schema.ts';
import type { Config } from '../../src/config/types.ts';
import { loadAddon } from '../../src/native/addon.ts';
import { perWorkerSockets, ProcessListeners } from '../../src/runtime/listeners.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { listeningSockets } from '../helpers/listeners.ts';

const skip = ENGINES.includes('native') ? false : 'the native engine is not loaded';

function configOf (dir: string, binds: string[], engine: 'native' | 'node' = 'native', mode: 'terminate' | 'passthrough' = 'terminate'): Config {
  const cert = writeCert(dir);
  const { config, errors } = validateConfig({
    global: { workers: 2, engine, log: { level: 'warn', format: 'json' } },
    frontends: binds.map((bind, i) => mode === 'passthrough'
      ? { name: `f${i}`, bind, mode, backend: 'app' }
      : { name: `f${i}`, bind, certificates: [{ cert: cert.cert, key: cert.key }], backend: 'app' }),
    backends: [{ name: 'app', servers: [{ name: 's1', address: '127.0.0.1:9' }] }],
  }, dir, 'test');
  if (!config) throw new Error(errors.join('\n'));
  return deepFreeze(config);
}

const accepts = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

test('one socket per native frontend address, host:0 pinned, kept while a live config uses it, closed after', { skip }, async (t) => {
  const listeners = new ProcessListeners();
  t.after(() => listeners.close());
  const first = listeners.open(configOf(tempDir(t), ['127.0.0.1:0']));
  const port = first.frontends[0]!.bind.port;
  assert.ok(port > 0, 'host:0 is pinned to the port the socket got');
  assert.deepEqual(listeners.ports(first), { f0: port });
  const fd = listeners.fds(first).f0!;
  assert.ok(existsSync(`/proc/self/fd/${fd}`));
  assert.equal(listeningSockets(process.pid, port), 1, 'one socket, however many workers');
  // The backlog queues a connection with no worker accepting it: the port never refuses.
  assert.equal(await accepts(port), true);

  // A reload that keeps the address opens nothing; one that adds another opens it.
  const second = listeners.open(configOf(tempDir(t), [`127.0.0.1:${port}`, '127.0.0.1:0']));
  assert.equal(listeners.fds(second).f0, fd, 'the same descriptor across the reload');
  const other = second.frontends[1]!.bind.port;
  assert.equal(listeningSockets(process.pid, port), 1);
  // Old workers still run the first config: both stay; once they are gone, only what the second uses.
  listeners.retain([first, second]);
  assert.equal(listeningSockets(process.pid, other), 1);
  const third = configOf(tempDir(t), [`127.0.0.1:${other}`]);
  listeners.retain([third]);
  assert.equal(listeningSockets(process.pid, port), 0, 'the address no live config uses is closed');
  assert.equal(listeningSockets(process.pid, other), 1);
  listeners.close();
  assert.equal(listeningSockets(process.pid, other), 0);
});

test('an address in use is refused naming the frontend and the address', { skip }, async (t) => {
  const taken: Server = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const listeners = new ProcessListeners();
  t.after(() => listeners.close());
  assert.throws(() => listeners.open(configOf(tempDir(t), [`127.0.0.1:${port}`])), (err: Error & { code?: string }) =>
    err.code === 'WS_ERR_ADDRESS_IN_USE' && err.message.startsWith(`frontends[0].bind: listen 127.0.0.1:${port}: Address already in use`));
  assert.equal(perWorkerSockets(configOf(tempDir(t), ['127.0.0.1:0'], 'node')), undefined, 'no per-worker sockets to warn about where the addon loads');
});

// A worker thread serving a copy of the descriptor as engine node does (net.Server.listen({ fd })), answering its name.
const SERVE_COPY = `
const { parentPort, workerData } = require('node:worker_threads');
const server = require('node:net').createServer((c) => c.end(workerData.name));
server.listen({ fd: workerData.fd }, () => parentPort.postMessage('listening'));
parentPort.on('message', (m) => { if (m === 'close') server.close(() => parentPort.postMessage('closed')); else throw new Error('dies'); });
`;

const answer = (port: number): Promise<string> => new Promise((resolve, reject) => {
  let got = '';
  const s = connect(port, '127.0.0.1');
  s.on('data', (c: Buffer) => { got += c.toString(); });
  s.once('end', () => resolve(got));
  s.once('error', reject);
});

for (const mode of ['terminate', 'passthrough'] as const) {
  test(`engine node, ${mode}: one socket for the address; worker threads serve their own copies; one that closes or dies leaves the port queueing`, { skip }, async (t) => {
    const listeners = new ProcessListeners();
    t.after(() => listeners.close());
    const config = listeners.open(configOf(tempDir(t), ['127.0.0.1:0'], 'node', mode));
    const port = config.frontends[0]!.bind.port;
    assert.ok(port > 0, 'host:0 is pinned on engine node too');
    const fd = listeners.fds(config).f0!;
    const addon = loadAddon();
    assert.ok(addon.ok);
    const workers = ['w0', 'w1'].map((name) => new Worker(SERVE_COPY, { eval: true, workerData: { fd: addon.addon.listenerDup(fd), name } }));
    t.after(() => Promise.all(workers.map((w) => w.terminate())));
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
    assert.equal(listeningSockets(process.pid, port), 1, 'the copies are one socket');
    // w0 closes its server (a reload retiring it): w1 goes on with every connection, the socket stays.
    workers[0]!.postMessage('close');
    await new Promise((resolve) => workers[0]!.once('message', resolve));
    for (let i = 0; i < 4; i++) assert.equal(await answer(port), 'w1');
    assert.equal(listeningSockets(process.pid, port), 1);
    // w1 dies: no worker left, and the port still takes connections (queued for the next one).
    workers[1]!.on('error', () => {});
    const gone = new Promise((resolve) => workers[1]!.once('exit', resolve));
    workers[1]!.postMessage('die');
    await gone;
    assert.equal(await accepts(port), true, 'queued, not refused');
    const next = new Worker(SERVE_COPY, { eval: true, workerData: { fd: addon.addon.listenerDup(fd), name: 'w2' } });
    t.after(() => next.terminate());
    await new Promise((resolve) => next.once('message', resolve));
    assert.equal(await answer(port), 'w2');
    assert.equal(listeningSockets(process.pid, port), 1);
  });
}
