// Memory under a flood of stalled handshakes (issue 15): N connections each send one
// ClientHello and then nothing, as a slowloris or a fleet behind a dead link would. Prints
// one JSON line: warmshake's RSS before, at the peak, right after the clients close, and
// `--settle` seconds later, with the cost per connection.
//   node bench/stall-flood.ts [--connections 10000] [--settle 30] [--workers 2] [--batch 500] [--engine node|native] [--env K=V]
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect as tlsConnect } from 'node:tls';
import { generateSelfSigned } from '../src/certs/self-signed.ts';
import { readKb } from './proc.ts';
import { startBackend } from './servers/backend.ts';
import { startWarmshake } from './servers/warmshake.ts';
import { probePort } from './ports.ts';

const { values } = parseArgs({ options: {
  connections: { type: 'string', default: '10000' },
  settle: { type: 'string', default: '30' },
  workers: { type: 'string', default: '2' },
  batch: { type: 'string', default: '500' },
  cpus: { type: 'string', default: '0,1' },
  /** node or native; unset: warmshake's default (native where the addon loads). */
  engine: { type: 'string' },
  /** KEY=VALUE for warmshake's environment (malloc tunables, to compare). */
  env: { type: 'string', multiple: true, default: [] },
} });
const env = Object.fromEntries(values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const N = Number(values.connections);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One real ClientHello (Node's TLS client, TLS 1.3 and 1.2 offered, SNI localhost), captured by a plain server. */
async function clientHello (): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (b: Buffer) => { resolve(b); s.destroy(); })));
  const client = tlsConnect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

const dir = mkdtempSync(join(tmpdir(), 'warmshake-stall-'));
const { cert, key } = generateSelfSigned({ names: ['localhost'] });
writeFileSync(join(dir, 'c.pem'), cert);
writeFileSync(join(dir, 'k.pem'), key, { mode: 0o600 });
const backend = await startBackend(values.cpus);
// The bench's servers run alone, so a probed port is fine here (bench/ports.ts).
const port = await probePort();
const ws = await startWarmshake({ dir, port, cert: join(dir, 'c.pem'), key: join(dir, 'k.pem'), threads: Number(values.workers),
  cacheSize: 20_000, lifetime: 300, tickets: true, backendPort: backend.port, cpus: values.cpus,
  engine: values.engine as 'node' | 'native' | undefined, env });
const rss = () => Math.round(readKb(ws.pid, 'status', 'VmRSS') / 1024);
try {
  const hello = await clientHello();
  await delay(2000);
  const before = rss();
  let peak = before;
  const sampler = setInterval(() => { peak = Math.max(peak, rss()); }, 100);
  const sockets: Socket[] = [];
  let closedByServer = 0;
  for (let i = 0; i < N; i += Number(values.batch)) {
    const batch = Array.from({ length: Math.min(Number(values.batch), N - i) }, () => new Promise<void>((resolve) => {
      const s = tcpConnect({ port, host: '127.0.0.1' }, () => { s.write(hello); resolve(); });
      s.on('error', () => resolve());
      s.on('close', () => { closedByServer++; });
      s.pause();
      sockets.push(s);
    }));
    await Promise.all(batch);
  }
  // Let the server read every ClientHello and answer it.
  await delay(3000);
  peak = Math.max(peak, rss());
  const open = sockets.length - closedByServer;
  for (const s of sockets) s.destroy();
  await delay(1000);
  const closed = rss();
  await delay(Number(values.settle) * 1000);
  clearInterval(sampler);
  const after = rss();
  const fds = readdirSync(`/proc/${ws.pid}/fd`).length;
  let reloaded: number | undefined;
  if (process.env.STALL_RELOAD) { process.kill(ws.pid, 'SIGHUP'); await delay(15_000); reloaded = rss(); }
  console.log(JSON.stringify({
    bench: 'stall-flood', engine: values.engine ?? 'default', env, workers: Number(values.workers), connections: N, openAtPeak: open,
    rssMb: { before, peak, closed, after, reloaded }, fds, settleSeconds: Number(values.settle),
    perConnectionKb: Math.round(((peak - before) * 1024) / N), afterVsBeforePct: Math.round(((after - before) / before) * 1000) / 10,
  }));
} finally {
  await ws.stop();
  await backend.stop();
  rmSync(dir, { recursive: true, force: true });
}
