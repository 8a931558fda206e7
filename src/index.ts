// warmshake's public API, for embedding or scripting; the CLI is `bin/warmshake.ts`.
export { Supervisor } from './runtime/supervisor.ts';
export type { WorkerInfo } from './runtime/supervisor.ts';
export { startServer } from './cli/server.ts';
export type { RunningServer } from './cli/server.ts';
export { loadConfigFile, parseConfig } from './config/load.ts';
export { validateConfig } from './config/schema.ts';
export type { Config, FrontendConfig, BackendConfig, SessionCacheConfig, TicketsConfig, RedisConfig } from './config/types.ts';

export { MemoryStore } from './session-cache/memory-store.ts';
export { SharedMemoryStore, sharedStoreBytes } from './session-cache/shared-memory-store.ts';
export { RedisStore } from './session-cache/redis-store.ts';
export { TieredStore } from './session-cache/tiered-store.ts';
export { createStore } from './session-cache/create-store.ts';
export type { RedisTierOptions } from './session-cache/create-store.ts';
export { Sealer, generateCacheKey } from './redis/seal.ts';
export type { SessionStore, StoreOptions, StoreStats, LookupResult, MissReason } from './session-cache/store.ts';

export { parseClientHello, offeredStatefulId, offeredTicketKeyName, offersTls13 } from './tls/client-hello.ts';
export type { ClientHello } from './tls/client-hello.ts';
export { parseServerHello } from './tls/server-hello.ts';
export type { ServerHello } from './tls/server-hello.ts';
export { generateSelfSigned } from './certs/self-signed.ts';
export { generateTicketKey } from './tls/ticket-key.ts';
export type { TicketKey, TicketKeyOrigin, TicketKeySource } from './tls/ticket-key.ts';

export { BackendPool } from './balancer/pool.ts';
export { encodeProxyV2, decodeProxyV2 } from './balancer/proxy-protocol.ts';

export { runProbe } from './cli/probe.ts';
export type { ProbeOptions, ProbeResult } from './cli/probe.ts';
export { runBench } from './cli/bench/load.ts';
export type { BenchOptions, BenchResult } from './cli/bench/options.ts';

export { channels } from './diagnostics.ts';
export type { HandshakeEvent, ConnectionErrorEvent, MissCause, ResumeMethod } from './diagnostics.ts';
export * from './errors.ts';
export { VERSION, versions } from './version.ts';
