// argv → what to do. Pure: no process, no I/O (fastify-cli's args.js), so every
// combination is testable and main.ts stays a switch.
import { UsageError } from '../errors.ts';
import { DEFAULT_BENCH_OPTIONS, type BenchOptions } from './bench/options.ts';
import { DEFAULT_PROBE_OPTIONS, type ProbeOptions } from './probe.ts';

export type Command =
  | { command: 'run'; config?: string }
  | { command: 'check'; config: string }
  | { command: 'probe'; options: ProbeOptions }
  | { command: 'bench'; options: BenchOptions }
  | { command: 'ctl'; socket?: string; line: string }
  | { command: 'keys-generate'; count: number }
  | { command: 'version' }
  | { command: 'help'; topic?: string };

export const USAGE = `usage: warmshake COMMAND [options]

  run [-c FILE]            serve (without -c and without ./warmshake.yaml: the embedded demo)
  check -c FILE            validate a config file; exit 1 naming each problem
  probe HOST:PORT [--tls 1.2|1.3] [--count N] [--servername NAME] [--no-tickets] [--json]
                           reconnect N times, say whether each resumed; exit 0 if all did
  bench HOST:PORT [--connections C] [--duration S] [--resume RATIO] [--clients N]
        [--tls 1.2|1.3] [--no-tickets] [--sni NAME] [--send BYTES] [--threads T] [--json]
        [--rate R] [--group NAME]
                           concurrent handshake load: handshakes/s, resumed %, latency
                           (--rate: open loop, R handshakes/s with at most C in flight)
  ctl [-s SOCKET] COMMAND...   send one admin command (show info, show stat, ...)
  keys generate [--count N]    print a new ticket-key file
  --version                version of warmshake, Node.js and OpenSSL
`;

type Flags = Map<string, string | true>;

/** Splits `--flag value`, `--flag=value` and `-c value`; `boolean` names take no value. */
function split (argv: readonly string[], boolean: ReadonlySet<string>): { flags: Flags; positional: string[] } {
  const flags: Flags = new Map();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { positional.push(...argv.slice(i + 1)); break; }
    if (!arg.startsWith('-') || arg === '-') { positional.push(arg); continue; }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (boolean.has(name)) { flags.set(name, true); continue; }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    flags.set(name, value);
  }
  return { flags, positional };
}

function only (flags: Flags, allowed: readonly string[], command: string): void {
  for (const name of flags.keys()) {
    if (!allowed.includes(name)) throw new UsageError(`${command}: unknown option ${name}`);
  }
}

function num (flags: Flags, name: string, fallback: number, min: number, max: number, integer = true): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw === true || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${name} expects ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${String(raw)}`);
  }
  return value;
}

function target (positional: readonly string[], command: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(positional[0] ?? '');
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) throw new UsageError(`${command}: expected HOST:PORT, got ${positional[0] ?? 'nothing'}`);
  if (positional.length > 1) throw new UsageError(`${command}: unexpected argument ${positional[1]}`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

function tlsVersion (flags: Flags): '1.2' | '1.3' | undefined {
  const v = flags.get('--tls');
  if (v === undefined) return undefined;
  if (v !== '1.2' && v !== '1.3') throw new UsageError(`--tls expects 1.2 or 1.3, got ${String(v)}`);
  return v;
}

function str (flags: Flags, name: string): string | undefined {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function parseArgs (argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined: case 'help': case '-h': case '--help':
      return { command: 'help', topic: rest[0] };
    case '--version': case '-v': case 'version':
      return { command: 'version' };
    case 'run': case 'check': {
      const { flags, positional } = split(rest, new Set());
      only(flags, ['-c', '--config'], command);
      if (positional.length > 0) throw new UsageError(`${command}: unexpected argument ${positional[0]}`);
      const config = str(flags, '-c') ?? str(flags, '--config');
      if (command === 'check') {
        if (!config) throw new UsageError('check: -c FILE is required');
        return { command, config };
      }
      return { command, config };
    }
    case 'probe': {
      const { flags, positional } = split(rest, new Set(['--no-tickets', '--json']));
      only(flags, ['--tls', '--count', '--servername', '--no-tickets', '--json'], command);
      return {
        command,
        options: {
          ...DEFAULT_PROBE_OPTIONS, ...target(positional, command), tls: tlsVersion(flags),
          count: num(flags, '--count', DEFAULT_PROBE_OPTIONS.count, 2, 1000),
          servername: str(flags, '--servername'), tickets: !flags.has('--no-tickets'), json: flags.has('--json'),
        },
      };
    }
    case 'bench': {
      const { flags, positional } = split(rest, new Set(['--no-tickets', '--json']));
      only(flags, ['--connections', '--duration', '--resume', '--clients', '--tls', '--no-tickets', '--sni', '--send', '--threads', '--count', '--json', '--rate', '--group'], command);
      const d = DEFAULT_BENCH_OPTIONS;
      return {
        command,
        options: {
          ...d, ...target(positional, command), tls: tlsVersion(flags),
          connections: num(flags, '--connections', d.connections, 1, 10_000),
          rate: num(flags, '--rate', d.rate, 0, 1_000_000, false),
          group: str(flags, '--group'),
          duration: num(flags, '--duration', d.duration, 0.1, 3600, false),
          resume: num(flags, '--resume', d.resume, 0, 1, false),
          clients: num(flags, '--clients', d.clients, 1, 10_000_000),
          send: num(flags, '--send', d.send, 0, 64 * 1024 * 1024),
          threads: flags.has('--threads') ? num(flags, '--threads', 1, 1, 256) : undefined,
          count: num(flags, '--count', d.count, 0, Number.MAX_SAFE_INTEGER),
          servername: str(flags, '--sni'), tickets: !flags.has('--no-tickets'), json: flags.has('--json'),
        },
      };
    }
    case 'ctl': {
      // Everything after the options is the admin command, words kept as given.
      let socket: string | undefined;
      let i = 0;
      while (i < rest.length && (rest[i] === '-s' || rest[i] === '--socket')) { socket = rest[i + 1]; i += 2; }
      if (socket === undefined && i > 0) throw new UsageError('ctl: -s needs a socket path');
      const line = rest.slice(i).join(' ').trim();
      if (line === '') throw new UsageError('ctl: which command? e.g. warmshake ctl show info');
      return { command, socket, line };
    }
    case 'keys': {
      if (rest[0] !== 'generate') throw new UsageError(`keys: expected "keys generate", got ${rest[0] ?? 'nothing'}`);
      const { flags, positional } = split(rest.slice(1), new Set());
      only(flags, ['--count'], 'keys generate');
      if (positional.length > 0) throw new UsageError(`keys generate: unexpected argument ${positional[0]}`);
      return { command: 'keys-generate', count: num(flags, '--count', 1, 1, 17) };
    }
    default:
      throw new UsageError(`unknown command ${command}\n${USAGE}`);
  }
}
