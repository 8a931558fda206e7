// Which engine serves each frontend. `global.engine` unset means native wherever the
// addon loads; a frontend using a feature the native engine does not serve yet runs on
// `node` whatever the setting, and `warmshake check` and the start log say which and why.
import type { Config, FrontendConfig } from '../config/types.ts';
import { loadAddon } from './addon.ts';

/** WS_MAX_BACKENDS and WS_MAX_ROUTES in src/native/c/engine.h: the engine's room per frontend. */
const MAX_BACKENDS = 16;
const MAX_ROUTES = 1024;

export interface EngineChoice {
  /** What the config asks for (or the default), and what it gets. */
  engine: 'native' | 'node';
  /** Why the engine is `node` when the config did not ask for it. */
  reason?: string;
  /** Frontends served by the native engine. */
  native: string[];
  /** Frontends that stay on `node` though the engine is native, with the features why. */
  fallback: Record<string, string[]>;
  /** Native frontends that run with less than engine node would give them, and what. */
  notes: Record<string, string[]>;
}

/**
 * What a native frontend gets less of than on engine node (it still runs native). None
 * today: passive health and the retry before the first byte are in the C engine too
 * (c/splice.c keeps the bytes, the worker's pool decides up/down from its reports).
 */
export function nativeNotes (_config: Config, _f: FrontendConfig): string[] {
  return [];
}

/** Features of `f` (in `config`) the native engine does not serve yet. */
export function nativeGaps (config: Config, f: FrontendConfig): string[] {
  const gaps: string[] = [];
  if (f.mode !== 'terminate') gaps.push('passthrough mode');
  const routed = new Set([f.backend, ...f.use_backend.map((r) => r.backend)]);
  if (routed.size > MAX_BACKENDS) gaps.push(`use_backend naming more than ${MAX_BACKENDS} backends`);
  if (f.use_backend.length > MAX_ROUTES) gaps.push(`more than ${MAX_ROUTES} use_backend rules`);
  const backends = config.backends.filter((b) => routed.has(b.name));
  if (backends.some((b) => b.servers.some((s) => s.tls))) gaps.push('TLS backends (servers[].tls)');
  return gaps;
}

export function chooseEngine (config: Config): EngineChoice {
  if (config.global.engine === 'node') return { engine: 'node', native: [], fallback: {}, notes: {} };
  const loaded = loadAddon();
  if (!loaded.ok) {
    return { engine: 'node', reason: config.global.engine === 'native' ? `engine native asked for, but ${loaded.reason}` : loaded.reason, native: [], fallback: {}, notes: {} };
  }
  const native: string[] = [];
  const fallback: Record<string, string[]> = {};
  const notes: Record<string, string[]> = {};
  for (const f of config.frontends) {
    const gaps = nativeGaps(config, f);
    if (gaps.length > 0) { fallback[f.name] = gaps; continue; }
    native.push(f.name);
    const less = nativeNotes(config, f);
    if (less.length > 0) notes[f.name] = less;
  }
  return { engine: 'native', native, fallback, notes };
}

/** What `check` and the start log say: one line per fact. */
export function describeChoice (choice: EngineChoice): string[] {
  const lines = [`engine: ${choice.engine}${choice.reason ? ` (${choice.reason})` : ''}`];
  for (const [name, gaps] of Object.entries(choice.fallback)) {
    lines.push(`frontend ${name} runs on engine node: the native engine does not serve ${gaps.join(', ')} yet`);
  }
  for (const [name, less] of Object.entries(choice.notes)) lines.push(`frontend ${name} on engine native: ${less.join('; ')}`);
  return lines;
}
