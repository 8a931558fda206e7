// A start that fails must stop (issue 12): real warmshake processes whose addresses are
// taken by other real processes. Each failure exits 1 with one line (code and fix, no
// stack trace) and leaves every address it took free again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { sClient } from '../helpers/peers.ts';
import { freePort } from '../../bench/ports.ts';
import { BIN, startWarmshake, terminateConfig, writeConfig } from '../helpers/warmshake.ts';

interface Exit { code: number | null; stderr: string; stdout: string }

/** Runs `warmshake ARGS` to its exit (killed after 30 s). */
function runToExit (cwd: string, args: string[]): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** One line on stderr, with a code, and no stack trace. */
function assertOneLine (e: Exit, code: string, message: RegExp): void {
  assert.equal(e.code, 1, `exit code; stderr: ${e.stderr}`);
  const lines = e.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${e.stderr}`);
  assert.match(lines[0], new RegExp(`^warmshake: .*\\(${code}\\)$`));
  assert.match(lines[0], message);
  assert.doesNotMatch(e.stderr, /^\s+at /m, 'no stack trace');
}

/** Whether a plain listen (no SO_REUSEPORT) on 127.0.0.1:port succeeds now. */
function portFree (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function hold (t: TestContext): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
    t.after(() => s.close());
  });
}

async function setup (t: TestContext) {
  const dir = tempDir(t);
  const cert = writeCert(dir);
  const backend = await httpBackend(t);
  const config = async (extra: { global?: Record<string, unknown>; frontend?: Record<string, unknown>; port?: number } = {}) =>
    terminateConfig({ port: extra.port ?? await freePort(), backendPort: backend.port, ...cert, global: extra.global, frontend: extra.frontend });
  return { dir, config };
}

test('admin HTTP port in use: exit 1, one line naming the holder and the fix, the admin socket and frontend port released', async (t) => {
  const { dir, config } = await setup(t);
  const taken = await hold(t);
  const httpPort = (taken.address() as { port: number }).port;
  const socket = join(dir, 'admin.sock');
  const frontendPort = await freePort();
  writeConfig(join(dir, 'w.yaml'), await config({ port: frontendPort, global: { admin: { socket, http: `127.0.0.1:${httpPort}` } } }));
  const e = await runToExit(dir, ['run', '-c', join(dir, 'w.yaml')]);
  assertOneLine(e, 'WS_ERR_ADDRESS_IN_USE', new RegExp(`admin http 127\\.0\\.0\\.1:${httpPort} is already in use \\(held by pid ${process.pid} .*\\); stop that process or change global\\.admin\\.http`));
  assert.equal(existsSync(socket), false, 'the admin socket is removed');
  assert.equal(await portFree(frontendPort), true, 'the frontend port is free');
});

test('admin socket held by another warmshake: exit 1 naming its pid; the first one keeps serving', async (t) => {
  const { dir, config } = await setup(t);
  const socket = join(dir, 'admin.sock');
  const first = await startWarmshake(t, dir, await config({ global: { admin: { socket } } }), 'first.yaml');
  const secondPort = await freePort();
  writeConfig(join(dir, 'second.yaml'), await config({ port: secondPort, global: { admin: { socket } } }));
  const e = await runToExit(dir, ['run', '-c', join(dir, 'second.yaml')]);
  assertOneLine(e, 'WS_ERR_ADDRESS_IN_USE', new RegExp(`admin socket ${socket.replace(/[.]/g, '\\.')} is already in use \\(held by pid ${first.child.pid} .*\\); stop that process or change global\\.admin\\.socket`));
  assert.equal(await portFree(secondPort), true, 'the second frontend port is free');
  assert.match(await sendAdminCommand(socket, 'show info'), new RegExp(`^Pid: ${first.child.pid}$`, 'm'));
  assert.equal((await sClient({ port: first.ports.https, tls: '1.3' })).fresh, 1);
});

test('a second warmshake on the same bind is refused, naming the first; shared_port: true lets it share on purpose', async (t) => {
  const { dir, config } = await setup(t);
  const first = await startWarmshake(t, dir, await config({ global: { admin: { socket: join(dir, 'a.sock') } } }), 'first.yaml');
  const port = first.ports.https;
  writeConfig(join(dir, 'second.yaml'), await config({ port, global: { admin: { socket: join(dir, 'b.sock') } } }));
  const e = await runToExit(dir, ['run', '-c', join(dir, 'second.yaml')]);
  assertOneLine(e, 'WS_ERR_ADDRESS_IN_USE', new RegExp(`frontends\\[0\\]\\.bind: 127\\.0\\.0\\.1:${port} is already in use \\(held by pid ${first.child.pid} .*\\); .*shared_port: true`));
  assert.equal(existsSync(join(dir, 'b.sock')), false, 'the second admin socket was never made');
  const shared = await startWarmshake(t, dir, await config({ port, frontend: { shared_port: true }, global: { admin: { socket: join(dir, 'c.sock') } } }), 'shared.yaml');
  assert.equal(shared.ports.https, port);
});

test('warmshake ctl with no socket: one line with the path tried and where the demo\'s socket is', async (t) => {
  const dir = tempDir(t);
  const e = await runToExit(dir, ['ctl', 'show', 'info']);
  assertOneLine(e, 'WS_ERR_ADMIN_UNREACHABLE', new RegExp(`no admin socket at ${join(dir, 'warmshake.sock').replace(/[.]/g, '\\.')} \\(no such socket\\)\\. Pass .* -s PATH; the demo .*warmshake-demo-\\*/warmshake\\.sock`));
});

test('a reload that adds a bind another process holds is refused; the running binds of this process do not count', async (t) => {
  const { dir, config } = await setup(t);
  const socket = join(dir, 'admin.sock');
  const first = await config({ global: { admin: { socket } } });
  const ws = await startWarmshake(t, dir, first);
  const taken = await hold(t);
  const port = (taken.address() as { port: number }).port;
  const frontends = first.frontends as Array<Record<string, unknown>>;
  ws.rewrite({ ...first, frontends: [...frontends, { ...frontends[0], name: 'more', bind: `127.0.0.1:${port}` }] });
  ws.child.kill('SIGHUP');
  const refused = await ws.waitForLog((l) => l.msg === 'reload refused: the running configuration stays');
  assert.match(String(refused.err), new RegExp(`^frontends\\[1\\]\\.bind: 127\\.0\\.0\\.1:${port} is already in use \\(held by pid ${process.pid} `));
  // The same file without the taken bind: the frontend this process already serves is no conflict.
  ws.rewrite({ ...first, global: { ...(first.global as object), resumption_alert_below: 0.3 } });
  ws.child.kill('SIGHUP');
  await ws.waitForLog((l) => /^reload 1 done/.test(l.msg));
  assert.equal((await sClient({ port: ws.ports.https, tls: '1.3' })).fresh, 1);
});
