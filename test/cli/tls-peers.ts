// Real TLS servers for the probe and bench tests: a Node tls.Server (tickets and the
// session-id callbacks switchable) and `openssl s_server -www`. Certificates are made
// here, in a temporary directory, never committed.

import { execFile, spawn } from 'node:child_process';
import { constants as cryptoConstants } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { printedPort } from '../../bench/ports.ts';

export interface TestCert { dir: string; keyFile: string; certFile: string; key: Buffer; cert: Buffer; remove: () => Promise<void> }

export async function makeCert (): Promise<TestCert> {
  const dir = await mkdtemp(join(tmpdir(), 'warmshake-cli-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-keyout', keyFile, '-out', certFile, '-days', '1'
  ]);
  return {
    dir, keyFile, certFile, key: await readFile(keyFile), cert: await readFile(certFile),
    remove: () => rm(dir, { recursive: true, force: true })
  };
}

export interface NodeServerOptions {
  /** false: SSL_OP_NO_TICKET. */
  tickets: boolean;
  /** true: an external session-id cache through newSession/resumeSession. */
  sessionCache: boolean;
}

export interface RunningServer { port: number; close: () => Promise<void> }

export async function startNodeServer (cert: TestCert, options: NodeServerOptions): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  const server = tls.createServer({
    key: cert.key, cert: cert.cert,
    ...(options.tickets ? {} : { secureOptions: cryptoConstants.SSL_OP_NO_TICKET })
  }, (socket) => {
    // Answer whatever comes (bench --send) and close when the client does.
    socket.on('data', () => socket.end('ok\n'));
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Clients that vanish mid-handshake are the bench's business, not the test's.
  server.on('tlsClientError', () => {});
  if (options.sessionCache) {
    const store = new Map<string, Buffer>();
    server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => { store.set(id.toString('hex'), data); done(); });
    server.on('resumeSession', (id: Buffer, done: (error: Error | null, data: Buffer | null) => void) => {
      done(null, store.get(id.toString('hex')) ?? null);
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    })
  };
}

/** `openssl s_server -www` on a free loopback port; `extra` e.g. ['-no_ticket']. */
export async function startOpensslServer (cert: TestCert, extra: string[]): Promise<RunningServer> {
  const child = spawn('openssl', [
    's_server', '-accept', '127.0.0.1:0', '-cert', cert.certFile, '-key', cert.keyFile, '-www', ...extra
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.resume();
  const port = await printedPort(child, /ACCEPT 127\.0\.0\.1:(\d+)/, 'openssl s_server');
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill();
    })
  };
}
