// Small combinators that turn raw YAML into typed values while collecting every
// problem with its path (`frontends[0].bind: ...`) instead of stopping at the first.
import { resolve } from 'node:path';
import { parseDuration } from './duration.ts';
import type { HostPort } from './types.ts';

export interface Ctx {
  errors: string[];
  warnings: string[];
  baseDir: string;
}

export type Parser<T> = (value: unknown, path: string, ctx: Ctx) => T | undefined;

export interface FieldOptions<T> {
  /** Used when the key is absent; a function for values that must not be shared. */
  default?: T | (() => T);
  required?: boolean;
  /** Absent means an empty section: parse `{}` so the section's own defaults apply. */
  empty?: boolean;
}

export interface Field<T> extends FieldOptions<T> {
  parse: Parser<T>;
}

type Shape = Record<string, Field<unknown>>;
/** A key that is always there once parsed: required, defaulted, or an empty section. */
type Present = { required: true } | { default: unknown } | { empty: true };
type ValueOf<F> = F extends { parse: Parser<infer T> } ? T : never;
/** What `object(shape)` parses to: the keys that are always there, and the optional ones. */
type Parsed<S extends Shape> = {
  [K in keyof S as S[K] extends Present ? K : never]: ValueOf<S[K]>;
} & {
  [K in keyof S as S[K] extends Present ? never : K]?: ValueOf<S[K]>;
};

export function show (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
}

function fail (ctx: Ctx, path: string, message: string): undefined {
  ctx.errors.push(`${path}: ${message}`);
  return undefined;
}

/** One key of a mapping; its options' literal types tell `Parsed` whether the key is always there. */
export const field = <T, const O extends FieldOptions<T> = {}>(parse: Parser<T>, options?: O): Field<T> & O =>
  ({ parse, ...options }) as Field<T> & O;

export function object<S extends Shape> (shape: S, removed: Record<string, string> = {}): Parser<Parsed<S>> {
  return (value, path, ctx) => {
    if (value === null || value === undefined) value = {};
    if (typeof value !== 'object' || Array.isArray(value)) return fail(ctx, path, `expected a mapping, got ${show(value)}`);
    const raw = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const prefix = path === '' ? '' : `${path}.`;
    for (const key of Object.keys(raw)) {
      if (key in shape) continue;
      const hint = removed[key] ?? nearest(key, Object.keys(shape));
      ctx.errors.push(`${prefix}${key}: unknown key${hint ? `, use ${hint} instead` : ''}`);
    }
    for (const [key, spec] of Object.entries(shape)) {
      const v = raw[key];
      if (v === undefined || v === null) {
        if (spec.required) ctx.errors.push(`${prefix}${key}: required`);
        else if (spec.empty) out[key] = spec.parse({}, `${prefix}${key}`, ctx);
        else if (spec.default !== undefined) out[key] = typeof spec.default === 'function' ? (spec.default as () => unknown)() : spec.default;
        continue;
      }
      const parsed = spec.parse(v, `${prefix}${key}`, ctx);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as Parsed<S>;
  };
}

/** A close spelling of `key` among `known`, for "use X instead". */
function nearest (key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestDistance) { best = k; bestDistance = d; }
  }
  return best;
}

function editDistance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

export function list<T> (item: Parser<T>, options: { min?: number } = {}): Parser<T[]> {
  return (value, path, ctx) => {
    if (!Array.isArray(value)) value = [value];
    const items = value as unknown[];
    if (items.length < (options.min ?? 0)) return fail(ctx, path, `expected at least ${options.min} item(s)`);
    const out: T[] = [];
    items.forEach((v, i) => {
      const parsed = item(v, `${path}[${i}]`, ctx);
      if (parsed !== undefined) out.push(parsed);
    });
    return out;
  };
}

export const string = (pattern?: RegExp, what = 'a string'): Parser<string> => (value, path, ctx) => {
  if (typeof value !== 'string' || value === '') return fail(ctx, path, `expected ${what}, got ${show(value)}`);
  if (pattern && !pattern.test(value)) return fail(ctx, path, `expected ${what}, got ${show(value)}`);
  return value;
};

export const integer = (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> => (value, path, ctx) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return fail(ctx, path, `expected an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
};

export const number = (min: number, max: number): Parser<number> => (value, path, ctx) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    return fail(ctx, path, `expected a number from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
};

export const boolean: Parser<boolean> = (value, path, ctx) =>
  typeof value === 'boolean' ? value : fail(ctx, path, `expected true or false, got ${show(value)}`);

export const oneOf = <T extends string>(...choices: T[]): Parser<T> => (value, path, ctx) =>
  (choices as unknown[]).includes(value) ? value as T : fail(ctx, path, `expected one of ${choices.join(', ')}, got ${show(value)}`);

/** Durations in ms; `min`/`max` in ms too. */
export const duration = (min = 0, max = 365 * 86_400_000): Parser<number> => (value, path, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) return fail(ctx, path, `expected a duration such as 30s, 12h or a number of seconds, got ${show(value)}`);
  if (ms < min || ms > max) return fail(ctx, path, `expected a duration from ${min} ms to ${max} ms, got ${show(value)}`);
  return ms;
};

/** A path, made absolute against the config file's directory. */
export const filePath: Parser<string> = (value, path, ctx) => {
  const text = string(undefined, 'a file path')(value, path, ctx);
  return text === undefined ? undefined : resolve(ctx.baseDir, text);
};

export const hostPort = (allowPortZero = false): Parser<HostPort> => (value, path, ctx) => {
  const text = typeof value === 'number' ? `:${value}` : value;
  if (typeof text !== 'string') return fail(ctx, path, `expected HOST:PORT, got ${show(value)}`);
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535 || (port === 0 && !allowPortZero)) {
    return fail(ctx, path, `expected HOST:PORT with a port from ${allowPortZero ? 0 : 1} to 65535, got ${show(value)}`);
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
};
