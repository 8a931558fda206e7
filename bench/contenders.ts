// Who takes part in the fixed-rate comparison: HAProxy, nginx, and warmshake once per
// engine. `global.engine` arrives with the native engine (issue 11): a build without
// the key runs warmshake once, as it always did, and the native row says why it is
// missing. A build with the key gets a native row only when a native instance really
// runs on the native engine (`show info` says `Engine: native`), not when it fell back.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendAdminCommand } from '../src/cli/ctl.ts';
import { baseSpec } from './compare.ts';
import type { BenchContext } from './context.ts';
import { startWarmshake, warmshakeConfig } from './servers/warmshake.ts';
import type { ServerKind, ServerSpec } from './servers/index.ts';

const BIN = fileURLToPath(new URL('../bin/warmshake.ts', import.meta.url));

export type Engine = 'node' | 'native';

export interface Contender {
  kind: ServerKind;
  /** Row label: `haproxy`, `nginx`, `warmshake node`, `warmshake native`. */
  label: string;
  engine?: Engine;
}

export interface Lineup {
  contenders: Contender[];
  /** Label → why it is not in the run. */
  unavailable: Record<string, string>;
}

/** Does `warmshake check` accept this spec's config? (An unknown key is a problem it names.) */
function checks (spec: ServerSpec): { ok: boolean; output: string } {
  const file = join(spec.dir, 'check.json');
  writeFileSync(file, JSON.stringify(warmshakeConfig(spec), null, 2));
  const result = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', BIN, 'check', '-c', file], { encoding: 'utf8', timeout: 30_000 });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

/** The `Engine:` line of `show info` (`native`, `node`, `native (node: FRONTEND)`), or undefined when there is none. */
export async function engineInUse (socket: string): Promise<string | undefined> {
  const info = await sendAdminCommand(socket, 'show info');
  return /^Engine:[ \t]*(.+)$/m.exec(info)?.[1]?.trim();
}

/** Why the native engine cannot run here, or undefined when a started instance reports it. */
async function nativeMissing (ctx: BenchContext): Promise<string | undefined> {
  const spec = await baseSpec(ctx, 'native-probe', { engine: 'native' });
  spec.adminSocket = join(spec.dir, 'admin.sock');
  const checked = checks(spec);
  if (!checked.ok) return `this build does not accept \`global.engine: native\` (warmshake check: ${checked.output.split('\n').slice(-2).join(' ').slice(0, 200)})`;
  let server;
  try {
    server = await startWarmshake(spec);
  } catch (err) {
    return `warmshake with \`engine: native\` did not start: ${(err instanceof Error ? err.message : String(err)).slice(0, 300)}`;
  }
  try {
    const engine = await engineInUse(spec.adminSocket);
    return engine === 'native' ? undefined : `\`engine: native\` ran on \`${engine ?? 'no Engine: line in show info'}\` (the addon is not built or does not load)`;
  } catch (err) {
    return `could not read show info: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await server.stop();
  }
}

export async function lineup (ctx: BenchContext): Promise<Lineup> {
  const unavailable: Record<string, string> = {};
  const contenders: Contender[] = ctx.servers.filter((k) => k !== 'warmshake').map((kind) => ({ kind, label: kind }));
  const probe = await baseSpec(ctx, 'engine-probe', { engine: 'node' });
  if (!checks(probe).ok) {
    // Before the native engine: one warmshake, on the only engine there is.
    contenders.push({ kind: 'warmshake', label: 'warmshake node' });
    unavailable['warmshake native'] = 'not available: this build has no `global.engine` setting (the native engine is not merged)';
    return { contenders, unavailable };
  }
  contenders.push({ kind: 'warmshake', label: 'warmshake node', engine: 'node' });
  const why = await nativeMissing(ctx);
  if (why) unavailable['warmshake native'] = `not available: ${why}`;
  else contenders.push({ kind: 'warmshake', label: 'warmshake native', engine: 'native' });
  return { contenders, unavailable };
}
