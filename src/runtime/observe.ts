// The one place that turns diagnostics events into counters and log lines.
import diagnostics from 'node:diagnostics_channel';
import { channels, type BackendHandshakeEvent, type ConnectionErrorEvent, type HandshakeEvent, type SessionStoredEvent, type StickEvent } from '../diagnostics.ts';
import { metricKey, type SharedCounters } from './counters.ts';
import type { Logger } from './logger.ts';

/** Upper bounds (seconds) of the handshake-duration histogram buckets. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function bucketLabel (seconds: number): string {
  for (const b of DURATION_BUCKETS) if (seconds <= b) return String(b);
  return '+Inf';
}

/** Subscribes; returns the function that unsubscribes. */
export function observe (counters: SharedCounters, logger: Logger): () => void {
  const onHandshake = (message: unknown): void => {
    const e = message as HandshakeEvent;
    const result = e.resumed ? 'resumed' : 'full';
    counters.add(metricKey('warmshake_handshakes_total', { frontend: e.frontend, result, method: e.method, version: e.version }));
    const seconds = e.duration / 1000;
    counters.add(metricKey('warmshake_handshake_duration_seconds_bucket', { frontend: e.frontend, result, le: bucketLabel(seconds) }));
    counters.add(metricKey('warmshake_handshake_duration_microseconds_sum', { frontend: e.frontend, result }), Math.round(e.duration * 1000));
    if (e.miss) counters.add(metricKey('warmshake_resumption_misses_total', { frontend: e.frontend, cause: e.miss }));
    logger.info({
      frontend: e.frontend, client: e.client, sni: e.sni, version: e.version, cipher: e.cipher, alpn: e.alpn || undefined,
      resumed: e.resumed, method: e.method, miss: e.miss, offered: e.offered, ms: Math.round(e.duration * 100) / 100,
    }, e.miss ? `handshake full: resumption missed (${e.miss})` : e.resumed ? `handshake resumed by ${e.method}` : 'handshake full');
  };
  const onError = (message: unknown): void => {
    const e = message as ConnectionErrorEvent;
    counters.add(metricKey('warmshake_connection_errors_total', { frontend: e.frontend, stage: e.stage }));
    const level = e.stage === 'backend' ? 'warn' : 'info';
    logger[level]({ frontend: e.frontend, client: e.client, stage: e.stage, reason: e.reason }, `connection closed at ${e.stage}: ${e.reason}`);
  };
  const onStored = (message: unknown): void => {
    const e = message as SessionStoredEvent;
    counters.add(metricKey('warmshake_sessions_stored_total', { frontend: e.frontend, result: e.stored ? 'stored' : 'refused' }));
    if (!e.stored) logger.debug({ frontend: e.frontend, client: e.client, reason: e.reason }, 'session not cached');
  };
  const onStick = (message: unknown): void => {
    const e = message as StickEvent;
    if (e.action === 'learn') {
      counters.add(metricKey('warmshake_stick_table_learned_total', { frontend: e.frontend, kind: e.kind ?? 'unknown', source: e.source ?? 'flight' }));
    } else {
      counters.add(metricKey('warmshake_stick_table_lookups_total', { frontend: e.frontend, result: e.action, reason: e.reason ?? '' }));
    }
    logger.debug({ frontend: e.frontend, client: e.client, kind: e.kind, server: e.server, reason: e.reason, key: e.key }, `stick table ${e.action}`);
  };
  const onBackendHandshake = (message: unknown): void => {
    const e = message as BackendHandshakeEvent;
    counters.add(metricKey('warmshake_backend_handshakes_total', { backend: e.backend, server: e.server, result: e.resumed ? 'resumed' : 'full' }));
    logger.debug({ backend: e.backend, server: e.server, offered: e.offered, resumed: e.resumed, version: e.version, ms: Math.round(e.duration * 100) / 100 }, `backend handshake ${e.resumed ? 'resumed' : 'full'}`);
  };
  const subscriptions: Array<[string | symbol, (message: unknown) => void]> = [
    [channels.handshake.name, onHandshake],
    [channels.connectionError.name, onError],
    [channels.sessionStored.name, onStored],
    [channels.stick.name, onStick],
    [channels.backendHandshake.name, onBackendHandshake],
  ];
  for (const [name, handler] of subscriptions) diagnostics.subscribe(name, handler);
  return () => { for (const [name, handler] of subscriptions) diagnostics.unsubscribe(name, handler); };
}
