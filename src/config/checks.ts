// What a valid config asks of this machine: files that must exist and stay private, key
// material that must parse, memory the shared stores need, ciphers OpenSSL must know,
// and kernel settings that would quietly override ours. Run by `check`, start and reload.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { createSecureContext } from 'node:tls';
import { cacheKeyFileProblem } from '../redis/seal.ts';
import { sharedStoreBytes } from '../session-cache/shared-memory-store.ts';
import { ticketKeyFileProblem } from '../tls/ticket-key-file.ts';
import { secretFileProblem, unreadable } from '../secret-files.ts';
import { sessionStoreOptions, stickTableOptions } from './store-options.ts';
import type { Config } from './types.ts';

/** Adds `path: problem` to `problems` when there is a problem. */
function at (problems: string[]): (path: string, problem: string | undefined) => void {
  return (path, problem) => { if (problem) problems.push(`${path}: ${problem}`); };
}

/** Problems with the files the config names, each with its path in the config. */
export function fileProblems (config: Config): string[] {
  const problems: string[] = [];
  const check = at(problems);
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

/**
 * Certificates and keys OpenSSL cannot load, or that do not belong together, named by
 * their path in the config; found now, not as a bare OpenSSL error from a worker.
 * Only the file and OpenSSL's reason are shown, never the key's bytes.
 */
export function keyProblems (config: Config): string[] {
  const problems: string[] = [];
  const reason = (err: unknown): string => (err as Error).message.replace(/^error:[0-9A-F]+:/, '');
  config.frontends.forEach((f, i) => f.certificates.forEach((c, j) => {
    const at = `frontends[${i}].certificates[${j}]`;
    if (unreadable(c.cert) || secretFileProblem(c.key)) return;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(readFileSync(c.cert));
    } catch (err) {
      problems.push(`${at}.cert: ${c.cert} is not a PEM certificate (${reason(err)})`);
      return;
    }
    try {
      if (!cert.checkPrivateKey(createPrivateKey(readFileSync(c.key)))) problems.push(`${at}.key: ${c.key} is not the private key of ${c.cert}`);
    } catch (err) {
      problems.push(`${at}.key: ${c.key} is not a private key OpenSSL can read (${reason(err)})`);
    }
  }));
  return problems;
}

/**
 * Ticket-key and cache-key files whose content is not a key: refused now, where a
 * worker would otherwise run on a generated key and silently stop sharing tickets with
 * the nodes that read the same file. Messages name the file and line, never the bytes.
 */
export function keyFileContentProblems (config: Config): string[] {
  const problems: string[] = [];
  const check = at(problems);
  const tickets = config.tickets.key_file;
  if (tickets && !secretFileProblem(tickets)) check('tickets.key_file', ticketKeyFileProblem(tickets));
  config.session_cache.redis?.key_file.forEach((file, i) => {
    if (!secretFileProblem(file)) check(`session_cache.redis.key_file[${i}]`, cacheKeyFileProblem(file));
  });
  return problems;
}

/** Share of this machine's memory the shared stores may take: beyond it, swap or the OOM killer. */
const MAX_MEMORY_SHARE = 0.75;

/** Problems with what the config asks of this machine: shared memory the caches would need. */
export function resourceProblems (config: Config, memory = totalmem()): string[] {
  const problems: string[] = [];
  const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;
  const cache = sharedStoreBytes(sessionStoreOptions(config));
  let total = cache;
  const where: string[] = [`session_cache.size: ${config.session_cache.size} sessions need ${mb(cache)}`];
  config.frontends.forEach((f, i) => {
    const table = stickTableOptions(f);
    if (!table) return;
    const bytes = sharedStoreBytes(table);
    total += bytes;
    where.push(`frontends[${i}].persist.size: ${table.size} entries need ${mb(bytes)}`);
  });
  if (total > memory * MAX_MEMORY_SHARE) {
    problems.push(`${where.join('; ')}: ${mb(total)} of shared memory in all, more than ${MAX_MEMORY_SHARE * 100}% of this machine's ${mb(memory)}`);
  }
  return problems;
}

/** Cipher strings OpenSSL cannot use, found now rather than by the first client. */
export function cipherProblems (config: Config): string[] {
  const problems: string[] = [];
  const tryList = (path: string, list: string, ciphers: string): void => {
    try {
      createSecureContext({ ciphers });
    } catch (err) {
      problems.push(`${path}: OpenSSL knows no cipher in ${JSON.stringify(list)} (${(err as Error).message.replace(/^error:[0-9A-F]+:SSL routines::/, '')}); see openssl ciphers -v`);
    }
  };
  config.frontends.forEach((f, i) => {
    if (f.mode !== 'terminate') return;
    tryList(`frontends[${i}].ciphers`, f.ciphers, f.ciphers);
    // Node takes TLS 1.3 suites in the same string, told apart by their TLS_ prefix.
    if (f.ciphersuites.split(':').some((c) => !c.startsWith('TLS_'))) problems.push(`frontends[${i}].ciphersuites: TLS 1.3 suites start with TLS_, got ${JSON.stringify(f.ciphersuites)}`);
    else tryList(`frontends[${i}].ciphersuites`, f.ciphersuites, `${f.ciphersuites}:${f.ciphers}`);
  });
  return problems;
}

const SOMAXCONN = '/proc/sys/net/core/somaxconn';

/** What the kernel allows a listen backlog to be, when it says (Linux). */
export function somaxconn (): number | undefined {
  try {
    return existsSync(SOMAXCONN) ? Number(readFileSync(SOMAXCONN, 'utf8').trim()) : undefined;
  } catch {
    return undefined;
  }
}

/** Settings the kernel will quietly override: worth a warning, not a refusal. */
export function kernelWarnings (config: Config, max = somaxconn()): string[] {
  if (max === undefined || !Number.isFinite(max)) return [];
  return config.frontends.flatMap((f, i) => f.backlog > max
    ? [`frontends[${i}].backlog: ${f.backlog} exceeds net.core.somaxconn (${max}), which silently caps it; raise it with sysctl -w net.core.somaxconn=${f.backlog}`]
    : []);
}

export interface CertificateExpiry {
  frontend: string;
  /** The certificate file. */
  cert: string;
  /** Path in the config. */
  at: string;
  /** ms since the epoch (the certificate's notAfter). */
  notAfter: number;
}

/** The notAfter of every frontend certificate that parses (the others are keyProblems'). */
export function certificateExpiries (config: Config): CertificateExpiry[] {
  return config.frontends.flatMap((f, i) => f.certificates.flatMap((c, j) => {
    try {
      return [{ frontend: f.name, cert: c.cert, at: `frontends[${i}].certificates[${j}].cert`, notAfter: Date.parse(new X509Certificate(readFileSync(c.cert)).validTo) }];
    } catch {
      return [];
    }
  }));
}

const DAY = 86_400_000;

/** Expired certificates, and those expiring within `global.cert_expiry_warn_days`: clients refuse an expired one. */
export function certificateWarnings (config: Config, now = Date.now()): string[] {
  const days = config.global.cert_expiry_warn_days;
  return certificateExpiries(config).flatMap((e) => {
    const date = new Date(e.notAfter).toISOString();
    if (e.notAfter <= now) return [`${e.at}: ${e.cert} expired on ${date} (${Math.floor((now - e.notAfter) / DAY)} days ago): clients will refuse it; renew it`];
    const left = Math.floor((e.notAfter - now) / DAY);
    return e.notAfter - now <= days * DAY ? [`${e.at}: ${e.cert} expires on ${date}, in ${left} days (cert_expiry_warn_days: ${days}); renew it`] : [];
  });
}

/** Every problem (refuse) and warning (say) the machine checks find. */
export function machineChecks (config: Config): { problems: string[]; warnings: string[] } {
  return {
    problems: [...resourceProblems(config), ...cipherProblems(config), ...fileProblems(config), ...keyProblems(config), ...keyFileContentProblems(config)],
    warnings: [...kernelWarnings(config), ...certificateWarnings(config)],
  };
}
