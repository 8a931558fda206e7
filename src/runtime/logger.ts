// pino with an asynchronous destination: a handshake never waits on a write(2).
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogConfig } from '../config/types.ts';
import { createSyslogStream, type SyslogStream } from './syslog.ts';

export type { Logger };

/** One line per record, `time LEVEL msg key=value ...`, for operators who read logs by eye. */
function textStream (inner: DestinationStream): DestinationStream {
  const skip = new Set(['time', 'level', 'msg', 'pid', 'hostname']);
  return {
    write (line: string) {
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        const extra = Object.entries(rec).filter(([k]) => !skip.has(k)).map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
        inner.write(`${new Date(rec.time as number).toISOString()} ${pino.levels.labels[rec.level as number]?.toUpperCase() ?? rec.level} ${rec.msg ?? ''} ${extra.join(' ')}\n`);
      } catch {
        inner.write(line);
      }
    },
  };
}

/** The syslog destination `log.syslog` asks for, if any (the caller closes it). */
export function openSyslog (config: Pick<LogConfig, 'syslog'>): SyslogStream | undefined {
  return config.syslog ? createSyslogStream({ target: config.syslog.target, facility: config.syslog.facility }) : undefined;
}

/** The stdout destination of each logger, so its last lines can be waited for. */
const destinations = new WeakMap<Logger, ReturnType<typeof pino.destination>>();

/**
 * Resolves once every line `log` wrote has reached stdout, and ends its destination: for
 * a thread or process about to end (pino's flush() does not wait for an asynchronous write
 * in progress, and a terminated thread loses it).
 */
export function endLog (log: Logger): Promise<void> {
  const dest = destinations.get(log);
  if (!dest) return Promise.resolve();
  destinations.delete(log);
  // A line logged after this would write to a closed destination, which throws.
  log.level = 'silent';
  return new Promise((resolve) => {
    dest.once('close', () => resolve());
    dest.once('error', () => resolve());
    dest.end();
  });
}

/** Logs to stdout (asynchronously), and also to `also` (syslog) when given. */
export function createLogger (config: Pick<LogConfig, 'level' | 'format'>, bindings: Record<string, unknown> = {}, also?: DestinationStream): Logger {
  const stdout = pino.destination({ dest: 1, sync: false, minLength: 0 });
  const format = (d: DestinationStream): DestinationStream => config.format === 'text' ? textStream(d) : d;
  const out = format(stdout);
  const extra = also && format(also);
  const stream: DestinationStream = extra ? { write: (line: string) => { out.write(line); extra.write(line); } } : out;
  const log = pino({ level: config.level, base: bindings, timestamp: pino.stdTimeFunctions.epochTime }, stream);
  destinations.set(log, stdout);
  return log;
}
