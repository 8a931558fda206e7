// The shape of warmshake.yaml (DESIGN.md's contract, plus the keys the issues add).
// Pure: no file system access here, so every rule is testable on plain objects.
import { availableParallelism } from 'node:os';
import { parseCidr } from './cidr.ts';
import type { BackendConfig, Cidr, Config, FrontendConfig } from './types.ts';
import {
  boolean, duration, field, filePath, hostPort, integer, list, number, object, oneOf, show, string,
  type Ctx, type Parser,
} from './validators.ts';

/** Forward-secret suites only: ECDHE key exchange with AEAD ciphers (TLS 1.2). */
export const DEFAULT_CIPHERS = 'ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!SHA1:!SHA256:!SHA384';
export const DEFAULT_CIPHERSUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

const name = string(/^[A-Za-z0-9_.-]{1,64}$/, 'a name of letters, digits, _ . - (at most 64)');
const version = oneOf('TLSv1.2', 'TLSv1.3');
const balance = oneOf('roundrobin', 'leastconn', 'source');

const cidr: Parser<Cidr> = (value, path, ctx) => {
  const parsed = typeof value === 'string' ? parseCidr(value) : undefined;
  if (!parsed) ctx.errors.push(`${path}: expected an address or CIDR such as 10.0.0.0/8 or ::1/128, got ${show(value)}`);
  return parsed;
};

const redis = object({
  url: field(string(/^rediss?:\/\//, 'a redis:// URL')),
  sentinels: field(list(hostPort())),
  name: field(string()),
  cluster: field(list(string(/^rediss?:\/\//, 'a redis:// URL'), { min: 1 })),
  key_file: field(list(filePath, { min: 1 }), { required: true }),
  timeout: field(duration(1, 10_000), { default: 50 }),
  prefix: field(string(), { default: 'warmshake:' }),
  breaker_errors: field(integer(1, 1000), { default: 5 }),
  breaker_backoff: field(duration(100, 3_600_000), { default: 5000 }),
}, { key_files: 'key_file (a list of files)' });

const timeouts = object({
  handshake: field(duration(100), { default: 10_000 }),
  client: field(duration(0), { default: 300_000 }),
  server: field(duration(0), { default: 30_000 }),
  connect: field(duration(1), { default: 5000 }),
});

const limits = object({
  // Safe by default, 0 turns a limit off. Concurrent connections per address stay
  // unlimited: a NAT gateway puts a whole sensor fleet behind one address.
  max_connections: field(integer(0), { default: 20_000 }),
  per_client_connections: field(integer(0), { default: 0 }),
  // Off by default for the same reason: a fleet behind one NAT address that reconnects
  // after an outage makes hundreds of new sessions a second, and refusing to cache them
  // keeps it in full handshakes (measured: bench `fleet` fell from 100% to 33% resumed at
  // 100/s). Set it where clients have addresses of their own.
  per_client_new_sessions: field(integer(0), { default: 0 }),
  max_client_hello: field(integer(512, 65536), { default: 16384 }),
  max_client_hello_records: field(integer(1, 64), { default: 4 }),
});

const frontend = object({
  name: field(name, { required: true }),
  bind: field(hostPort(true), { required: true }),
  shared_port: field(boolean, { default: false }),
  mode: field(oneOf('terminate', 'passthrough'), { default: 'terminate' }),
  certificates: field(list(object({
    cert: field(filePath, { required: true }),
    key: field(filePath, { required: true }),
  })), { default: () => [] }),
  backend: field(name, { required: true }),
  use_backend: field(list(object({
    sni: field(string(/^(\*\.)?[A-Za-z0-9.-]+$/, 'a host name or *.suffix'), { required: true }),
    backend: field(name, { required: true }),
  })), { default: () => [] }),
  send_proxy: field(oneOf('v2')),
  allow: field(list(cidr), { default: () => [] }),
  deny: field(list(cidr), { default: () => [] }),
  persist: field(object({
    type: field(oneOf('ssl-session-id'), { default: 'ssl-session-id' }),
    size: field(integer(1, 50_000_000), { default: 100_000 }),
    expire: field(duration(1000), { default: 1_800_000 }),
    fallback: field(balance),
    redis: field(boolean, { default: false }),
    probe_every: field(duration(0), { default: 60_000 }),
  })),
  min_version: field(version, { default: 'TLSv1.2' }),
  max_version: field(version, { default: 'TLSv1.3' }),
  ciphers: field(string(), { default: DEFAULT_CIPHERS }),
  ciphersuites: field(string(), { default: DEFAULT_CIPHERSUITES }),
  alpn: field(list(string(/^[\x21-\x7e]{1,255}$/, 'an ALPN protocol name')), { default: () => [] }),
  backlog: field(integer(1, 1_000_000), { default: 511 }),
  keepalive: field(boolean, { default: true }),
  keepalive_delay: field(duration(1000), { default: 300_000 }),
  timeout: field(timeouts, { empty: true }),
  limits: field(limits, { empty: true }),
}, { handshake_timeout: 'timeout.handshake', max_connections: 'limits.max_connections', sni: 'use_backend' });

const backend = object({
  name: field(name, { required: true }),
  balance: field(balance, { default: 'roundrobin' }),
  servers: field(list(object({
    name: field(name, { required: true }),
    address: field(hostPort(), { required: true }),
    weight: field(integer(0, 256), { default: 1 }),
    tls: field(object({
      ca: field(filePath),
      verify: field(boolean, { default: true }),
      servername: field(string()),
    })),
  }), { min: 1 }), { required: true }),
  health_check: field(object({
    type: field(oneOf('tcp', 'tls'), { default: 'tcp' }),
    interval: field(duration(100), { default: 2000 }),
    rise: field(integer(1, 100), { default: 2 }),
    fall: field(integer(1, 100), { default: 3 }),
    timeout: field(duration(10), { default: 1000 }),
  })),
});

const root = object({
  global: field(object({
    workers: field(integer(1, 256), { default: () => availableParallelism() }),
    admin: field(object({
      socket: field(filePath),
      http: field(hostPort(true)),
    }), { empty: true }),
    log: field(object({
      level: field(oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace'), { default: 'info' }),
      format: field(oneOf('json', 'text'), { default: 'json' }),
      syslog: field(object({
        target: field(string(), { required: true }),
        facility: field(oneOf('kern', 'user', 'daemon', 'auth', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'), { default: 'local2' }),
      })),
    }), { empty: true }),
    resumption_alert_below: field(number(0, 1), { default: 0.1 }),
    shutdown_timeout: field(duration(0), { default: 10_000 }),
    // No default: unset means native where the addon loads (src/native/choice.ts).
    engine: field(oneOf('native', 'node')),
    cert_expiry_warn_days: field(integer(0, 3650), { default: 30 }),
  }), { empty: true }),
  session_cache: field(object({
    size: field(integer(0, 100_000_000), { default: 100_000 }),
    lifetime: field(duration(1000, 7 * 86_400_000), { default: 300_000 }),
    max_entry_bytes: field(integer(256, 65536), { default: 2048 }),
    redis: field(redis),
  }), { empty: true }),
  tickets: field(object({
    enabled: field(boolean, { default: true }),
    rotate_every: field(duration(10_000), { default: 12 * 3_600_000 }),
    keep: field(integer(0, 16), { default: 3 }),
    key_file: field(filePath),
  }), { empty: true }),
  frontends: field(list(frontend, { min: 1 }), { required: true }),
  backends: field(list(backend, { min: 1 }), { required: true }),
});

function newCtx (baseDir = '.'): Ctx {
  return { errors: [], warnings: [], baseDir };
}

/** Checks that span sections: names that refer to each other, mode-specific keys. */
function crossCheck (cfg: Config, ctx: Ctx): void {
  const backendNames = new Set<string>();
  cfg.backends.forEach((b: BackendConfig, i) => {
    if (backendNames.has(b.name)) ctx.errors.push(`backends[${i}].name: duplicate backend name ${show(b.name)}`);
    backendNames.add(b.name);
    const servers = new Set<string>();
    b.servers.forEach((s, j) => {
      if (servers.has(s.name)) ctx.errors.push(`backends[${i}].servers[${j}].name: duplicate server name ${show(s.name)}`);
      servers.add(s.name);
    });
  });
  const frontendNames = new Set<string>();
  const binds = new Set<string>();
  cfg.frontends.forEach((f: FrontendConfig, i) => {
    const at = `frontends[${i}]`;
    if (frontendNames.has(f.name)) ctx.errors.push(`${at}.name: duplicate frontend name ${show(f.name)}`);
    frontendNames.add(f.name);
    const bind = `${f.bind.host}:${f.bind.port}`;
    if (f.bind.port !== 0 && binds.has(bind)) ctx.errors.push(`${at}.bind: ${bind} is already bound by another frontend`);
    binds.add(bind);
    if (!backendNames.has(f.backend)) ctx.errors.push(`${at}.backend: no backend named ${show(f.backend)}`);
    f.use_backend.forEach((r, j) => {
      if (!backendNames.has(r.backend)) ctx.errors.push(`${at}.use_backend[${j}].backend: no backend named ${show(r.backend)}`);
    });
    if (f.mode === 'terminate' && f.certificates.length === 0) ctx.errors.push(`${at}.certificates: required in mode terminate`);
    if (f.mode === 'passthrough' && f.certificates.length > 0) ctx.errors.push(`${at}.certificates: not used in mode passthrough (the backends hold the keys)`);
    if (f.mode === 'terminate' && f.persist) ctx.errors.push(`${at}.persist: only for mode passthrough (terminate resumes sessions itself)`);
    if (f.persist?.redis && !cfg.session_cache.redis) ctx.errors.push(`${at}.persist.redis: needs session_cache.redis`);
    if (f.min_version > f.max_version) ctx.errors.push(`${at}.min_version: ${f.min_version} is above max_version ${f.max_version}`);
  });
  const r = cfg.session_cache.redis;
  if (r) {
    const kinds = [r.url, r.sentinels, r.cluster].filter((x) => x !== undefined).length;
    if (kinds !== 1) ctx.errors.push('session_cache.redis: set exactly one of url, sentinels (with name) or cluster');
    if (r.sentinels && !r.name) ctx.errors.push('session_cache.redis.name: required with sentinels');
  }
}

/** The same plain data, key for key (optional keys and nested sections included). */
type Flat<T> = T extends Uint8Array ? T : T extends readonly (infer U)[] ? Array<Flat<U>> : T extends object ? { [K in keyof T]: Flat<T[K]> } : T;
type Same<A, B> = (<X>() => X extends Flat<A> ? 1 : 2) extends (<X>() => X extends Flat<B> ? 1 : 2) ? true : false;
type Assert<T extends true> = T;
/**
 * Compiles only while the schema parses to exactly what types.ts declares, both ways:
 * a key added to one and not the other, or typed differently, fails `tsc`.
 */
export type SchemaMatchesTypes = Assert<Same<NonNullable<ReturnType<typeof root>>, Omit<Config, 'source'>>>;

export interface ValidationResult {
  config?: Config;
  errors: string[];
  warnings: string[];
}

/** Validates a parsed YAML document; `baseDir` resolves relative file paths. */
export function validateConfig (raw: unknown, baseDir: string, source: string): ValidationResult {
  const ctx = newCtx(baseDir);
  const parsed = root(raw, '', ctx);
  if (!parsed || ctx.errors.length > 0) return { errors: ctx.errors, warnings: ctx.warnings };
  const config: Config = { ...parsed, source };
  crossCheck(config, ctx);
  return ctx.errors.length > 0 ? { errors: ctx.errors, warnings: ctx.warnings } : { config, errors: [], warnings: ctx.warnings };
}
