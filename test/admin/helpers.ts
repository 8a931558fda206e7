// An in-process warmshake for the admin tests: a real Supervisor (worker threads,
// shared memory) from a validated config, its admin endpoints, and TLS clients that
// make full or resumed handshakes on purpose.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startAdmin, type Admin, type AdminOptions } from '../../src/admin/index.ts';
import { deepFreeze } from '../../src/config/load.ts';
import { validateConfig } from '../../src/config/schema.ts';
import { createLogger, type Logger } from '../../src/runtime/logger.ts';
import { Supervisor } from '../../src/runtime/supervisor.ts';
import { sendAdminCommand } from '../../src/cli/ctl.ts';
import { echoBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';

// `node --test` gives its child processes flags (--test-*, --inspect-port, ...) that a
// Worker refuses, and the Supervisor hands process.execArgv to its workers.
process.execArgv.splice(0, process.execArgv.length);

export interface Harness {
  sup: Supervisor;
  admin: Admin;
  dir: string;
  port: number;
  base: string;
  log: Logger;
  command (line: string): Promise<string>;
  get (path: string): Promise<{ status: number; type: string; body: string }>;
}

export interface HarnessOptions {
  global?: Record<string, unknown>;
  session_cache?: Record<string, unknown>;
  tickets?: Record<string, unknown>;
  frontend?: Record<string, unknown>;
  /** Added to backend `app` (its first server is the echo backend). */
  backend?: Record<string, unknown>;
  /** More servers of backend `app`. */
  servers?: Array<Record<string, unknown>>;
  admin?: Partial<AdminOptions>;
  /** Where log lines go (default: nowhere worth reading). */
  logStream?: { write (line: string): void };
}

export async function startHarness (t: TestContext, o: HarnessOptions = {}): Promise<Harness> {
  const dir = tempDir(t, 'warmshake-admin-');
  const cert = writeCert(dir);
  const backend = await echoBackend(t);
  const raw = {
    global: { workers: 1, admin: { socket: join(dir, 'admin.sock'), http: '127.0.0.1:0' }, log: { level: 'warn', format: 'json' }, ...o.global },
    session_cache: { size: 1000, lifetime: 300, ...o.session_cache },
    tickets: { enabled: true, rotate_every: '12h', keep: 2, ...o.tickets },
    frontends: [{ name: 'https', bind: '127.0.0.1:0', certificates: [{ cert: cert.cert, key: cert.key }], backend: 'app', ...o.frontend }],
    backends: [{ name: 'app', servers: [{ name: 's1', address: `127.0.0.1:${backend.port}` }, ...(o.servers ?? [])], ...o.backend }],
  };
  const { config, errors } = validateConfig(raw, dir, 'test');
  if (!config) throw new Error(errors.join('\n'));
  const log = createLogger({ level: 'warn', format: 'json' }, {}, o.logStream);
  const sup = new Supervisor(deepFreeze(config), log);
  await sup.start();
  t.after(() => sup.stop());
  const admin = await startAdmin(sup, log, o.admin);
  t.after(() => admin.close());
  const base = `http://127.0.0.1:${admin.http!.port}`;
  return {
    sup, admin, dir, log, base,
    port: sup.ports.https,
    command: (line) => sendAdminCommand(admin.socketPath!, line),
    async get (path) {
      const res = await fetch(base + path);
      return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
    },
  };
}

export interface HandshakeResult {
  resumed: boolean;
  session: Buffer;
}

/** One TLS 1.2 connection through warmshake: handshake, one echo round trip, close. */
export function handshake (port: number, session?: Buffer, maxVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.2'): Promise<HandshakeResult> {
  return new Promise((resolve, reject) => {
    let latest: Buffer | undefined = session;
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, maxVersion, session });
    socket.on('session', (s: Buffer) => { latest = s; });
    socket.once('secureConnect', () => {
      const resumed = socket.isSessionReused();
      socket.write('ping');
      socket.once('data', () => {
        latest = latest ?? socket.getSession();
        socket.end();
      });
      socket.once('close', () => resolve({ resumed, session: latest! }));
    });
    socket.once('error', reject);
  });
}

/** Parses `show info` into a map. */
export function parseInfo (text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 2));
  }
  return out;
}

/** Polls `probe` until it returns a value (counters arrive from worker threads through shared memory). */
export async function eventually<T> (probe: () => Promise<T | undefined>, what: string, tries = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not reached${last ? ` (${String(last)})` : ''}`);
}
