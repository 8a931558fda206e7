// Real TLS peers for the parser tests: a certificate made at test time, a capture server
// that keeps a client's first flight, a tap that records both directions of a real
// handshake, and launchers for openssl, Python, curl and Node clients. Written by others,
// these peers catch what a home-made encoder would agree with.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseClientHello } from '../../../src/tls/client-hello.ts';
import { parseServerHello } from '../../../src/tls/server-hello.ts';
import { printedPort } from '../../../bench/ports.ts';

type Parse = (buf: Buffer) => { status: string };

/** A guard against a peer that never speaks, not a timing assertion. */
const HANG_GUARD_MS = 60_000;

export interface Certificate { key: Buffer; cert: Buffer; dir: string }

export function makeCertificate (t: TestContext): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'warmshake-hello-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=localhost', '-keyout', key, '-out', cert, '-days', '1'], { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert), dir };
}

/** Reads from `socket` until `parse` no longer says incomplete (or the peer stops); resolves with all bytes read. */
export function readUntilParsed (socket: net.Socket, parse: Parse): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`peer sent ${buf.length} bytes and stopped`)), HANG_GUARD_MS).unref();
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      if (err !== undefined) reject(err); else resolve(buf);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (parse(buf).status !== 'incomplete') done();
    };
    socket.on('data', onData);
    socket.once('end', () => done(new Error(`peer closed after ${buf.length} bytes`)));
    socket.once('error', (err) => done(err));
  });
}

/**
 * Listens on 127.0.0.1:0, calls `launch(port)` to point a client at it, and resolves with
 * the client's first flight once it holds a whole ClientHello (or a parse error). The
 * client is then cut off and, if it is a process, killed.
 */
export async function captureClientHello (t: TestContext, launch: (port: number) => ChildProcess | undefined): Promise<Buffer> {
  const server = net.createServer();
  const captured = new Promise<Buffer>((resolve, reject) => {
    server.once('connection', (socket) => {
      socket.on('error', () => {});
      readUntilParsed(socket, parseClientHello).then(resolve, reject).finally(() => socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const child = launch(port);
  try {
    return await captured;
  } finally {
    if (child !== undefined) stop(child);
  }
}

export function stop (child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  // Detached children lead their own process group, so their helpers (Chromium's) go too.
  try { process.kill(detached.has(child) ? -child.pid : child.pid, 'SIGKILL'); } catch {}
}

const detached = new WeakSet<ChildProcess>();

export function launch (command: string, args: string[], options: { detached?: boolean } = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: options.detached ?? false });
  if (options.detached === true) detached.add(child);
  child.stderr?.resume();
  child.on('error', () => {});
  return child;
}

/** Resolves with the exit code once `child` exits. */
export function exited (child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export interface Tap {
  port: number;
  /** Per proxied connection, in order: what the client sent first and what the server answered first. */
  flights: Array<Promise<{ client: Buffer; server: Buffer }>>;
}

/**
 * A plain TCP relay to `target` that records each connection's ClientHello and
 * ServerHello while passing every byte on, as warmshake's pass-through mode does.
 */
export async function startTap (t: TestContext, target: number, onClientHello?: (bytes: Buffer) => void): Promise<Tap> {
  const flights: Tap['flights'] = [];
  const server = net.createServer((client) => {
    if (onClientHello !== undefined) {
      // Before the pipe, so the callback runs before the bytes reach the server.
      let seen = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        seen = Buffer.concat([seen, chunk]);
        if (parseClientHello(seen).status === 'incomplete') return;
        client.removeListener('data', onData);
        onClientHello(seen);
      };
      client.on('data', onData);
    }
    const upstream = net.connect(target, '127.0.0.1');
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    const flight = Promise.all([readUntilParsed(client, parseClientHello), readUntilParsed(upstream, parseServerHello)])
      .then(([c, s]) => ({ client: c, server: s }));
    flight.catch(() => {}); // a test that never looks at this connection must not see an unhandled rejection
    flights.push(flight);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, flights };
}

/** Sends `bytes` (a captured ClientHello) to a real server and resolves with its reply up to a whole ServerHello. */
export async function replay (port: number, bytes: Buffer): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  try {
    socket.write(bytes);
    return await readUntilParsed(socket, parseServerHello);
  } finally {
    socket.destroy();
  }
}

export interface RealServer {
  port: number;
  /** Session ids OpenSSL handed to `newSession`, in order (only with `sessionCache`). */
  newSessionIds: Buffer[];
  /**
   * Legacy session id (hex) -> cache key, consulted by `resumeSession` first: the trick
   * that lets Node resume stateful TLS 1.3 tickets (nodejs/node#60847), fed from a parsed ClientHello.
   */
  aliases: Map<string, Buffer>;
}

/**
 * A real Node TLS server that greets and closes each connection. With `sessionCache`
 * it keeps sessions through newSession/resumeSession, the hooks warmshake's cache uses.
 */
export async function startTlsServer (t: TestContext, cert: Certificate, options: tls.TlsOptions & { sessionCache?: boolean } = {}): Promise<RealServer> {
  const { sessionCache, ...tlsOptions } = options;
  const server = tls.createServer({ key: cert.key, cert: cert.cert, ALPNProtocols: ['h2', 'http/1.1'], ...tlsOptions }, (socket) => {
    socket.on('error', () => {});
    socket.end('hello\n');
  });
  server.on('tlsClientError', () => {});
  const newSessionIds: Buffer[] = [];
  const aliases = new Map<string, Buffer>();
  if (sessionCache === true) {
    const store = new Map<string, Buffer>();
    server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      newSessionIds.push(Buffer.from(id));
      store.set(id.toString('hex'), data);
      done();
    });
    server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      const key = aliases.get(id.toString('hex')) ?? id;
      done(null, store.get(key.toString('hex')) ?? null);
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, newSessionIds, aliases };
}

/** Runs `openssl s_client` to completion against a real server and saves its session (the last ticket) to `file`. */
export async function opensslSaveSession (port: number, file: string, args: string[]): Promise<void> {
  const child = launch('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-ign_eof', '-sess_out', file, ...args]);
  await exited(child);
}

export interface NodeSession {
  /** The last session the server gave (a resumed TLS 1.2 handshake gives none, so then the one resumed). */
  session: Buffer;
  reused: boolean;
}

/** Connects Node's TLS client to a real server, reads until the server closes, and resolves with its session. */
export function nodeSession (port: number, options: tls.ConnectionOptions): Promise<NodeSession> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options });
    let session: Buffer | undefined;
    let reused = false;
    socket.on('secureConnect', () => { reused = socket.isSessionReused(); session ??= socket.getSession(); });
    socket.on('session', (s) => { session = s; });
    socket.on('error', reject);
    socket.on('close', () => session === undefined ? reject(new Error('no session')) : resolve({ session, reused }));
    socket.resume();
  });
}

/** Points Node's TLS client at `port`; the capture server cuts it off, so errors are expected and ignored. */
export function nodeClient (options: tls.ConnectionOptions): (port: number) => undefined {
  return (port) => {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options });
    socket.on('error', () => {});
    return undefined;
  };
}

/** `openssl s_server` on a free port (it prints the port it got), stopped when the test ends. */
export async function startOpensslServer (t: TestContext, cert: Certificate, args: string[]): Promise<number> {
  const child = spawn('openssl', ['s_server', '-accept', '127.0.0.1:0', '-key', join(cert.dir, 'key.pem'),
    '-cert', join(cert.dir, 'cert.pem'), ...args], { stdio: ['pipe', 'pipe', 'ignore'] });
  child.on('error', () => {});
  t.after(() => stop(child));
  return printedPort(child, /ACCEPT .*:(\d+)/, 'openssl s_server');
}
