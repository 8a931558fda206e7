// The embedded demo (`warmshake run` with no config): TLS on 127.0.0.1:8443 with a
// certificate made now, a built-in HTTP backend, admin HTTP on 127.0.0.1:9000.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/schema.ts';
import { deepFreeze } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { ConfigInvalidError } from '../errors.ts';
import { generateSelfSigned } from '../certs/self-signed.ts';

export interface Demo {
  config: Config;
  close (): Promise<void>;
}

function startBackend (): Promise<Server> {
  const server = createServer((req, res) => {
    const body = `hello from the warmshake demo backend\nyou asked for ${req.method} ${req.url}\nTLS was terminated by warmshake; see the admin page at http://127.0.0.1:9000/\n`;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function startDemo (): Promise<Demo> {
  const dir = mkdtempSync(join(tmpdir(), 'warmshake-demo-'));
  const { cert, key } = generateSelfSigned({ names: ['localhost', '127.0.0.1'] });
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'key.pem'), key, { mode: 0o600 });
  const backend = await startBackend();
  const port = (backend.address() as { port: number }).port;
  const raw = {
    global: { admin: { http: '127.0.0.1:9000', socket: join(dir, 'warmshake.sock') }, log: { level: 'info', format: 'json' } },
    session_cache: { size: 100_000, lifetime: 1800 },
    tickets: { enabled: true, rotate_every: '12h', keep: 3 },
    frontends: [{ name: 'demo', bind: '127.0.0.1:8443', certificates: [{ cert: 'cert.pem', key: 'key.pem' }], backend: 'demo', alpn: ['http/1.1'] }],
    backends: [{ name: 'demo', servers: [{ name: 'demo1', address: `127.0.0.1:${port}` }] }],
  };
  const { config, errors } = validateConfig(raw, dir, 'embedded demo');
  if (!config) throw new ConfigInvalidError(errors);
  return {
    config: deepFreeze(config),
    close: async () => {
      await new Promise((resolve) => backend.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
