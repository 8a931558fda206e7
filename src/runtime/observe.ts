// The one place that turns diagnostics events into counters and log lines.
import diagnostics from 'node:diagnostics_channel';
import { channels, type ConnectionErrorEvent, type HandshakeEvent, type SessionStoredEvent } from '../diagnostics.ts';
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
  diagnostics.subscribe(channels.handshake.name, onHandshake);
  diagnostics.subscribe(channels.connectionError.name, onError);
  diagnostics.subscribe(channels.sessionStored.name, onStored);
  return () => {
    diagnostics.unsubscribe(channels.handshake.name, onHandshake);
    diagnostics.unsubscribe(channels.connectionError.name, onError);
    diagnostics.unsubscribe(channels.sessionStored.name, onStored);
  };
}
