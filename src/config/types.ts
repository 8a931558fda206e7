// The validated, defaulted and frozen configuration. Every duration here is in
// milliseconds whatever unit the file used; every path is absolute (resolved against
// the directory of the config file).

export interface HostPort {
  host: string;
  port: number;
}

export interface CertificateConfig {
  cert: string;
  key: string;
}

export interface RedisConfig {
  /** Standalone server. Exactly one of url, sentinels (+ name) or cluster is set. */
  url?: string;
  sentinels?: HostPort[];
  name?: string;
  cluster?: string[];
  /** AES-256-GCM keys (first encrypts, all decrypt); each file must be mode 0600/0400. */
  key_file: string[];
  timeout: number;
  prefix: string;
  /** After this many consecutive errors the breaker opens for `breaker_backoff`. */
  breaker_errors: number;
  breaker_backoff: number;
}

export interface SessionCacheConfig {
  size: number;
  lifetime: number;
  /** Largest serialized session kept (HAProxy SHSESS_MAX_DATA_LEN); larger ones are counted, not cached. */
  max_entry_bytes: number;
  redis?: RedisConfig;
}

export interface TicketsConfig {
  enabled: boolean;
  rotate_every: number;
  keep: number;
  /** Optional ring file (mode 0600/0400) written by `warmshake keys generate`. */
  key_file?: string;
}

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';
export type BalanceAlgorithm = 'roundrobin' | 'leastconn' | 'source';

export interface Cidr {
  /** As written, for messages. */
  text: string;
  family: 4 | 6;
  /** Network address bytes (4 or 16) and prefix length. */
  bytes: Uint8Array;
  prefix: number;
}

export interface PersistConfig {
  type: 'ssl-session-id';
  size: number;
  expire: number;
  fallback?: BalanceAlgorithm;
  /** Share the stick table through session_cache.redis. */
  redis: boolean;
  /** ms between handshakes warmshake makes to each server to learn its ticket key name (0 = never). Default 60 s. */
  probe_every: number;
}

export interface LimitsConfig {
  /** Concurrent connections per frontend (0 = unlimited). */
  max_connections: number;
  /** Concurrent connections from one client address (0 = unlimited). */
  per_client_connections: number;
  /** New sessions one client address may add to the cache per second. */
  per_client_new_sessions: number;
  /** Largest ClientHello accepted, in bytes, and most records it may span. */
  max_client_hello: number;
  max_client_hello_records: number;
}

export interface TimeoutsConfig {
  handshake: number;
  client: number;
  server: number;
  connect: number;
}

export interface UseBackendRule {
  /** Exact name, or `*.suffix`. Lowercased. */
  sni: string;
  backend: string;
}

export interface FrontendConfig {
  name: string;
  bind: HostPort;
  /** Start even when another process already listens on `bind` (SO_REUSEPORT shares it); off by default. */
  shared_port: boolean;
  mode: 'terminate' | 'passthrough';
  certificates: CertificateConfig[];
  backend: string;
  use_backend: UseBackendRule[];
  send_proxy?: 'v2';
  allow: Cidr[];
  deny: Cidr[];
  persist?: PersistConfig;
  min_version: TlsVersion;
  max_version: TlsVersion;
  /** OpenSSL cipher list for TLS 1.2 and the TLS 1.3 suites. */
  ciphers: string;
  ciphersuites: string;
  /** ALPN protocols this frontend agrees to, in preference order (what the backend speaks); empty = no ALPN. */
  alpn: string[];
  backlog: number;
  keepalive: boolean;
  keepalive_delay: number;
  timeout: TimeoutsConfig;
  limits: LimitsConfig;
}

export interface HealthCheckConfig {
  type: 'tcp' | 'tls';
  interval: number;
  rise: number;
  fall: number;
  timeout: number;
}

export interface ServerTlsConfig {
  ca?: string;
  verify: boolean;
  servername?: string;
}

export interface ServerConfig {
  name: string;
  address: HostPort;
  weight: number;
  tls?: ServerTlsConfig;
}

export interface BackendConfig {
  name: string;
  balance: BalanceAlgorithm;
  servers: ServerConfig[];
  health_check?: HealthCheckConfig;
}

export interface SyslogConfig {
  /** `udp://host:port` or a unix socket path. */
  target: string;
  facility: 'kern' | 'user' | 'daemon' | 'auth' | 'local0' | 'local1' | 'local2' | 'local3' | 'local4' | 'local5' | 'local6' | 'local7';
}

export interface LogConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  format: 'json' | 'text';
  syslog?: SyslogConfig;
}

export interface AdminConfig {
  socket?: string;
  http?: HostPort;
}

export interface GlobalConfig {
  workers: number;
  admin: AdminConfig;
  log: LogConfig;
  resumption_alert_below: number;
  /** Grace period for connections to drain on SIGTERM. */
  shutdown_timeout: number;
  /** Data plane of terminate-mode frontends; unset = native where the addon loads. */
  engine?: 'native' | 'node';
  /** `check`, start and reload warn about a frontend certificate expiring within this many days (0: only expired ones). */
  cert_expiry_warn_days: number;
}

export interface Config {
  global: GlobalConfig;
  session_cache: SessionCacheConfig;
  tickets: TicketsConfig;
  frontends: FrontendConfig[];
  backends: BackendConfig[];
  /** Where the config came from (file path), or `embedded demo`. */
  source: string;
}
