// The common shape of a comparison: for each peer, in alternating order, start it with
// the shared spec, warm it up (JIT for warmshake; OpenSSL's caches for all), measure,
// stop. One server at a time, so none competes with another for the server core.
import { emit, measure } from './measure.ts';
import type { LoadOptions, Row } from './measure.ts';
import { alternate } from './context.ts';
import type { BenchContext } from './context.ts';
import { freePort } from './ports.ts';
import { serverDir, startServer } from './servers/index.ts';
import type { RunningServer, ServerKind, ServerSpec } from './servers/index.ts';

export type SpecOverrides = Partial<Omit<ServerSpec, 'dir' | 'port'>>;

/** Long enough for V8 to optimize warmshake's hot path at a few hundred handshakes/s. */
const WARMUP_SECONDS = 2;

export async function baseSpec (ctx: BenchContext, name: string, overrides: SpecOverrides): Promise<ServerSpec> {
  return {
    dir: serverDir(ctx.root, name),
    port: await freePort(),
    cert: ctx.certs.ec.cert,
    key: ctx.certs.ec.key,
    threads: 1,
    cacheSize: 100_000,
    lifetime: 300,
    tickets: true,
    backendPort: ctx.backendPort,
    cpus: ctx.serverCpus,
    ...overrides
  };
}

/** Starts `kind` (or a labelled variant), runs `body`, always stops it. */
export async function withServer<T> (ctx: BenchContext, kind: ServerKind, overrides: SpecOverrides, body: (server: RunningServer) => Promise<T>): Promise<T> {
  const spec = await baseSpec(ctx, kind, overrides);
  const server = await startServer(kind, spec);
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

export async function warmUp (server: RunningServer, load: LoadOptions): Promise<void> {
  await measure(server, { ...load, duration: WARMUP_SECONDS });
}

/** One row per available peer, measured under `load`. */
export async function compareServers (ctx: BenchContext, scenario: string, index: number, overrides: SpecOverrides, load: LoadOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const kind of alternate(ctx.servers, index)) {
    const row = await withServer(ctx, kind, overrides, async (server) => {
      await warmUp(server, load);
      return (await measure(server, load)).row;
    });
    emit(scenario, row);
    rows.push(row);
  }
  return rows;
}
