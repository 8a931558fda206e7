import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigInvalidError } from '../errors.ts';
import { machineChecks } from './checks.ts';
import { validateConfig } from './schema.ts';
import type { Config } from './types.ts';

export interface LoadResult {
  config: Config;
  warnings: string[];
  /** First 16 hex digits of the SHA-256 of the file's bytes (`show info` ConfigHash). */
  hash: string;
}

/** Freezes the config all the way down: nothing may change it after validation. */
export function deepFreeze<T> (value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** First 16 hex digits of the SHA-256 of the config file's bytes (`show info` ConfigHash). */
export function configHash (text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Parses YAML text and validates it; throws ConfigInvalidError listing every problem. */
export function parseConfig (text: string, source: string, baseDir: string): LoadResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigInvalidError(doc.errors.map((e) => `${source}: YAML ${e.message.split('\n')[0]}`));
  }
  const { config, errors, warnings } = validateConfig(doc.toJS(), baseDir, source);
  if (!config) throw new ConfigInvalidError(errors);
  const machine = machineChecks(config);
  if (machine.problems.length > 0) throw new ConfigInvalidError(machine.problems);
  return { config: deepFreeze(config), warnings: [...warnings, ...machine.warnings], hash: configHash(text) };
}

export function loadConfigFile (file: string): LoadResult {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigInvalidError([`${path}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  return parseConfig(text, path, dirname(path));
}
