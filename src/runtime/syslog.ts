// A pino destination that sends each log line as an RFC 5424 syslog message, for
// operators who collect logs with rsyslog or syslog-ng. `udp://host:port` sends UDP
// datagrams (RFC 5426); a path is a unix socket: a stream socket gets one message per
// line, and a datagram socket (/dev/log), which Node cannot open, is reached through
// util-linux `logger`. Logging never blocks or throws: what cannot be sent is dropped
// and counted.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { hostname } from 'node:os';
import { connect, isIPv6, type Socket } from 'node:net';

export const FACILITIES: Readonly<Record<string, number>> = Object.freeze({
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
});

/** pino level -> syslog severity (RFC 5424 §6.2.1). */
const SEVERITY: Readonly<Record<number, number>> = Object.freeze({ 60: 2, 50: 3, 40: 4, 30: 6, 20: 7, 10: 7 });
const TEXT_LEVELS: Readonly<Record<string, number>> = Object.freeze({ FATAL: 60, ERROR: 50, WARN: 40, INFO: 30, DEBUG: 20, TRACE: 10 });

export interface SyslogOptions {
  /** `udp://host:port` or a unix socket path. */
  target: string;
  facility: string;
  appName: string;
  hostname: string;
  /** Longer messages are cut (rsyslog's default maxMessageSize is 8 KiB). */
  maxMessageBytes: number;
  /** Lines kept while a unix stream socket (re)connects; more are dropped. */
  maxQueued: number;
}

export const DEFAULT_SYSLOG_OPTIONS: Omit<SyslogOptions, 'target' | 'hostname'> = Object.freeze({
  facility: 'local2',
  appName: 'warmshake',
  maxMessageBytes: 8192,
  maxQueued: 1000,
});

export interface SyslogStream {
  write (line: string): void;
  /** Messages dropped (socket down, queue full). */
  readonly dropped: number;
  close (): Promise<void>;
}

/** RFC 5424 header fields: printable US-ASCII, no space, at most `max` characters, `-` when empty. */
function field (value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** The level and time of a pino line (JSON), or of a text line (`ISO LEVEL msg ...`). */
function levelAndTime (line: string): { level: number; time: number } {
  if (line.startsWith('{')) {
    try {
      const rec = JSON.parse(line) as { level?: unknown; time?: unknown };
      return { level: typeof rec.level === 'number' ? rec.level : 30, time: typeof rec.time === 'number' ? rec.time : Date.now() };
    } catch {}
  }
  const m = /^(\S+) ([A-Z]+) /.exec(line);
  const time = m ? Date.parse(m[1]) : NaN;
  return { level: (m && TEXT_LEVELS[m[2]]) || 30, time: Number.isNaN(time) ? Date.now() : time };
}

export function priority (facility: string, level: number): number {
  return (FACILITIES[facility] ?? FACILITIES.local2) * 8 + (SEVERITY[level] ?? 6);
}

/** `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG` with the log line as MSG. */
export function formatRfc5424 (line: string, o: Pick<SyslogOptions, 'facility' | 'appName' | 'hostname'> & { pid?: number }): string {
  const text = line.replace(/\n+$/, '');
  const { level, time } = levelAndTime(text);
  return `<${priority(o.facility, level)}>1 ${new Date(time).toISOString()} ${field(o.hostname, 255)} ${field(o.appName, 48)} ${field(String(o.pid ?? process.pid), 128)} - - ${text}`;
}

function truncate (message: string, max: number): Buffer {
  const buf = Buffer.from(message, 'utf8');
  return buf.length <= max ? buf : buf.subarray(0, max);
}

function udpStream (url: URL, o: SyslogOptions): SyslogStream {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 514);
  const socket: UdpSocket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  socket.on('error', () => {});
  socket.unref();
  let dropped = 0;
  return {
    write (line) {
      socket.send(truncate(formatRfc5424(line, o), o.maxMessageBytes), port, host, (err) => { if (err) dropped++; });
    },
    get dropped () { return dropped; },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** A unix stream socket, one message per line (rsyslog imptcp / syslog-ng unix-stream); `logger` for a datagram socket. */
function unixStream (path: string, o: SyslogOptions): SyslogStream {
  let socket: Socket | undefined;
  let child: ChildProcess | undefined;
  let connected = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let dropped = 0;
  const queue: string[] = [];
  const frame = (line: string): Buffer => {
    const message = formatRfc5424(line, o).replace(/\n/g, ' ');
    // logger writes its own header: hand it only `<PRI>` and the text.
    const out = child ? `<${priority(o.facility, levelAndTime(line).level)}>${message.slice(message.indexOf(' - - ') + 5)}` : message;
    return Buffer.concat([truncate(out, o.maxMessageBytes), Buffer.from('\n')]);
  };
  const send = (line: string): void => {
    if (closed) dropped++;
    else if (child?.stdin?.writable) child.stdin.write(frame(line));
    else if (connected && socket) socket.write(frame(line));
    else if (queue.length < o.maxQueued) queue.push(line);
    else dropped++;
  };
  const flush = (): void => { for (const line of queue.splice(0)) send(line); };
  const viaLogger = (): void => {
    // Node has no AF_UNIX datagram sockets; util-linux logger sends each stdin line as
    // one datagram, its priority taken from the `<PRI>` prefix.
    child = spawn('logger', ['--socket', path, '--rfc5424', '--prio-prefix', '--tag', o.appName, '--size', String(o.maxMessageBytes)], { stdio: ['pipe', 'ignore', 'ignore'] });
    // No logger here: nothing can reach a datagram socket, so stop trying.
    child.on('error', () => { closed = true; });
    child.stdin?.on('error', () => {});
    child.unref();
    (child.stdin as Socket | null)?.unref();
    flush();
  };
  const reconnect = (): void => {
    if (closed) return;
    retry = setTimeout(open, 1000);
    retry.unref();
  };
  function open (): void {
    if (closed) return;
    const s = connect(path);
    socket = s;
    s.unref();
    s.on('connect', () => { connected = true; flush(); });
    // 'close' follows every 'error': reconnect there, unless the socket is a datagram one.
    s.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPROTOTYPE') viaLogger(); });
    s.on('close', () => {
      connected = false;
      if (!child) reconnect();
    });
  }
  open();
  return {
    write (line) { send(line.replace(/\n+$/, '')); },
    get dropped () { return dropped; },
    async close () {
      closed = true;
      if (retry) clearTimeout(retry);
      const s = socket;
      if (s && connected) await new Promise<void>((resolve) => { s.end(() => resolve()); setTimeout(resolve, 500).unref(); });
      s?.destroy();
      child?.stdin?.end();
    },
  };
}

export function createSyslogStream (options: Pick<SyslogOptions, 'target'> & Partial<SyslogOptions>): SyslogStream {
  const o: SyslogOptions = { ...DEFAULT_SYSLOG_OPTIONS, hostname: hostname(), ...options };
  if (o.target.startsWith('udp://')) return udpStream(new URL(o.target), o);
  return unixStream(o.target, o);
}
