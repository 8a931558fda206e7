// The one place that turns diagnostics events into counters and log lines.
import diagnostics from 'node:diagnostics_channel';
import { channels, DURATION_BUCKETS, type BackendHandshakeEvent, type ConnectionErrorEvent, type HandshakeEvent, type SessionStoredEvent, type StickEvent } from '../diagnostics.ts';
import type { CounterFamily, SharedCounters } from './counters.ts';
import { NC_STAGES, type WantedRecords } from '../native/counters.ts';
import type { Logger } from './logger.ts';
import { counterFamily, type Family } from './worker-stats.ts';


type Stage = ConnectionErrorEvent['stage'];

/**
 * The level a connection error is logged at. A backend unreachable is news; a connection
 * cut mid-stream (a reset, an idle timeout) is routine and counted, and a server that
 * keeps doing it is marked DOWN with a warning of its own, so one line per such connection
 * only at `debug`. One line per connection cut at shutdown too: the worker then says how
 * many at warn.
 */
export function errorLevel (stage: Stage): 'warn' | 'info' | 'debug' {
  return stage === 'backend' ? 'warn' : stage === 'proxy' ? 'debug' : 'info';
}

/**
 * The records the native engine must send for what this module logs at the logger's level
 * (it counts them in shared memory itself): handshakes at `info`, refused sessions at
 * `debug`, errors at their level. Errors at shutdown always: the worker counts the cuts
 * (worker-entry.ts). Nothing else in src/ subscribes to these channels.
 */
export function wantedRecords (logger: Logger): WantedRecords {
  const on = (level: 'warn' | 'info' | 'debug'): boolean => level === 'warn' || logger.isLevelEnabled(level);
  return {
    handshake: on('info'),
    stored: on('debug'),
    errors: NC_STAGES.filter((stage) => stage === 'shutdown' || on(errorLevel(stage))),
  };
}

/** Calls `tell` with wantedRecords now and after each change of the logger's level. */
export function followWantedRecords (logger: Logger, tell: (wanted: WantedRecords) => void): void {
  tell(wantedRecords(logger));
  logger.on('level-change', () => tell(wantedRecords(logger)));
}

export function bucketLabel (seconds: number): string {
  for (const b of DURATION_BUCKETS) if (seconds <= b) return String(b);
  return '+Inf';
}

/** Subscribes; returns the function that unsubscribes. */
export function observe (counters: SharedCounters, logger: Logger): () => void {
  const family = (name: Family): CounterFamily => counterFamily(counters, name);
  const handshakes = family('handshakes');
  const durations = family('handshakeDuration');
  const durationSum = family('handshakeMicros');
  const misses = family('misses');
  const errors = family('connectionErrors');
  const stored = family('sessionsStored');
  const stickLearned = family('stickLearned');
  const stickLookups = family('stickLookups');
  const backendHandshakes = family('backendHandshakes');
  // A log object is only built when its level is on: a handshake logged at `info` is
  // the hot path when the level is `warn`.
  const enabled = (level: 'debug' | 'info'): boolean => logger.isLevelEnabled(level);

  const onHandshake = (message: unknown): void => {
    const e = message as HandshakeEvent;
    // The native engine counts in shared memory itself, so a record its ring drops still counts.
    if (e.engine !== 'native') {
      const result = e.resumed ? 'resumed' : 'full';
      handshakes.add([e.frontend, result, e.method, e.version]);
      durations.add([e.frontend, result, bucketLabel(e.duration / 1000)]);
      durationSum.add([e.frontend, result], Math.round(e.duration * 1000));
      if (e.miss) misses.add([e.frontend, e.miss]);
    }
    if (!enabled('info')) return;
    logger.info({
      frontend: e.frontend, client: e.client, sni: e.sni, version: e.version, cipher: e.cipher, alpn: e.alpn || undefined,
      resumed: e.resumed, method: e.method, miss: e.miss, offered: e.offered, engine: e.engine, ms: Math.round(e.duration * 100) / 100,
    }, e.miss ? `handshake full: resumption missed (${e.miss})` : e.resumed ? `handshake resumed by ${e.method}` : 'handshake full');
  };
  const onError = (message: unknown): void => {
    const e = message as ConnectionErrorEvent;
    if (e.engine !== 'native') errors.add([e.frontend, e.stage]);
    const level = errorLevel(e.stage);
    if (level !== 'warn' && !enabled(level)) return;
    logger[level]({ frontend: e.frontend, client: e.client, stage: e.stage, reason: e.reason }, `connection closed at ${e.stage}: ${e.reason}`);
  };
  const onStored = (message: unknown): void => {
    const e = message as SessionStoredEvent;
    if (e.engine !== 'native') stored.add([e.frontend, e.stored ? 'stored' : 'refused']);
    if (!e.stored && enabled('debug')) logger.debug({ frontend: e.frontend, client: e.client, reason: e.reason }, 'session not cached');
  };
  const onStick = (message: unknown): void => {
    const e = message as StickEvent;
    if (e.action === 'learn') stickLearned.add([e.frontend, e.kind ?? 'unknown', e.source ?? 'flight']);
    else stickLookups.add([e.frontend, e.action, e.reason ?? '']);
    if (enabled('debug')) logger.debug({ frontend: e.frontend, client: e.client, kind: e.kind, server: e.server, reason: e.reason, key: e.key }, `stick table ${e.action}`);
  };
  const onBackendHandshake = (message: unknown): void => {
    const e = message as BackendHandshakeEvent;
    backendHandshakes.add([e.backend, e.server, e.resumed ? 'resumed' : 'full']);
    if (enabled('debug')) logger.debug({ backend: e.backend, server: e.server, offered: e.offered, resumed: e.resumed, version: e.version, ms: Math.round(e.duration * 100) / 100 }, `backend handshake ${e.resumed ? 'resumed' : 'full'}`);
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
