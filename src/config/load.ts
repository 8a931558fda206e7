import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigInvalidError } from '../errors.ts';
import { secretFileProblem, unreadable } from './files.ts';
import { validateConfig } from './schema.ts';
import type { Config } from './types.ts';

export interface LoadResult {
  config: Config;
  warnings: string[];
}

/** Problems with the files the config names, each with its path in the config. */
export function fileProblems (config: Config): string[] {
  const problems: string[] = [];
  const check = (path: string, problem: string | undefined): void => { if (problem) problems.push(`${path}: ${problem}`); };
  config.frontends.forEach((f, i) => f.certificates.forEach((c, j) => {
    check(`frontends[${i}].certificates[${j}].cert`, unreadable(c.cert));
    check(`frontends[${i}].certificates[${j}].key`, secretFileProblem(c.key));
  }));
  config.session_cache.redis?.key_file.forEach((file, i) => check(`session_cache.redis.key_file[${i}]`, secretFileProblem(file)));
  if (config.tickets.key_file) check('tickets.key_file', secretFileProblem(config.tickets.key_file));
  config.backends.forEach((b, i) => b.servers.forEach((s, j) => {
    if (s.tls?.ca) check(`backends[${i}].servers[${j}].tls.ca`, unreadable(s.tls.ca));
  }));
  return problems;
}

export function deepFreeze<T> (value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Parses YAML text and validates it; throws ConfigInvalidError listing every problem. */
export function parseConfig (text: string, source: string, baseDir: string): LoadResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigInvalidError(doc.errors.map((e) => `${source}: YAML ${e.message.split('\n')[0]}`));
  }
  const { config, errors, warnings } = validateConfig(doc.toJS(), baseDir, source);
  if (!config) throw new ConfigInvalidError(errors);
  const problems = fileProblems(config);
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  return { config: deepFreeze(config), warnings };
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
