// The admin HTTP endpoint: /metrics (Prometheus), /healthz, /api/stats (JSON) and /
// (the stats page, one self-contained file: no external assets, so it works on an
// isolated management network).
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HostPort } from '../config/types.ts';
import { AddressInUseError, StartupError } from '../errors.ts';
import { heldBy, holderOfPort } from '../runtime/address-holder.ts';
import type { Logger } from '../runtime/logger.ts';
import type { AdminContext } from './context.ts';
import { renderMetrics } from './metrics.ts';
import { buildStats } from './stats.ts';

const PAGE = readFileSync(new URL('./stats-page.html', import.meta.url));

/** The page runs its own inline script and talks to this server only. */
const PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface AdminHttp {
  readonly address: HostPort;
  close (): Promise<void>;
}

function send (req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'content-type': type,
    'content-length': buf.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : buf);
}

export function handleAdminRequest (ctx: AdminContext, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
    return;
  }
  switch (path) {
    case '/metrics':
      send(req, res, 200, 'text/plain; version=0.0.4; charset=utf-8', renderMetrics(ctx));
      return;
    case '/healthz': {
      const workers = ctx.source.workers();
      if (workers.some((w) => w.state === 'running')) send(req, res, 200, 'text/plain; charset=utf-8', 'ok\n');
      else if (workers.some((w) => w.state === 'stopping')) send(req, res, 503, 'text/plain; charset=utf-8', 'draining\n');
      else send(req, res, 503, 'text/plain; charset=utf-8', 'no worker running\n');
      return;
    }
    case '/api/stats':
      send(req, res, 200, 'application/json; charset=utf-8', JSON.stringify(buildStats(ctx)));
      return;
    case '/':
    case '/index.html':
      send(req, res, 200, 'text/html; charset=utf-8', PAGE, { 'content-security-policy': PAGE_CSP });
      return;
    default:
      send(req, res, 404, 'text/plain; charset=utf-8', 'not found: try /, /metrics, /healthz, /api/stats\n');
  }
}

export async function listenAdminHttp (address: HostPort, ctx: AdminContext, log: Logger): Promise<AdminHttp> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    try {
      handleAdminRequest(ctx, req, res);
    } catch (err) {
      log.error({ err: (err as Error).message, url: req.url }, 'admin http: request failed');
      if (!res.headersSent) send(req, res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on('connection', (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE'
      ? new AddressInUseError(`admin http ${address.host}:${address.port} is already in use${heldBy(holderOfPort(address.port))}; stop that process or change global.admin.http`)
      : new StartupError(`admin http ${address.host}:${address.port}: ${err.message}; check global.admin.http`, { cause: err })));
    server.listen(address.port, address.host, () => { server.removeAllListeners('error'); resolve(); });
  });
  server.on('error', (err) => log.error({ err: err.message }, 'admin http error'));
  const port = (server.address() as { port: number }).port;
  log.info({ address: `${address.host}:${port}` }, 'admin http listening');
  return {
    address: { host: address.host, port },
    async close () {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive browsers (the stats page) would hold close() open.
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
