// The admin command set: one line in, the whole answer out (ending in a newline). An
// unknown command or a bad argument is one error line, never an exception, so the
// socket server needs no error handling of its own.
import { StickTable } from '../balancer/stick-table.ts';
import { AdminCommandError, SessionStoreUnavailableError } from '../errors.ts';
import { ticketKeyName } from '../tls/ticket-key.ts';
import type { StoreEntryInfo } from '../session-cache/store.ts';
import type { AdminContext } from './context.ts';
import type { SessionTier } from './source.ts';
import { formatInfo, infoFields } from './info.ts';
import { statCsv } from './stat-csv.ts';

/** Longest command line accepted, bytes. */
export const MAX_COMMAND_BYTES = 4096;
const DEFAULT_LIST = 50;
const MAX_LIST = 10_000;

interface Command {
  usage: string;
  help: string;
  run (args: string[], ctx: AdminContext): Promise<string> | string;
}

function count (args: string[], usage: string): number {
  if (args.length === 0) return DEFAULT_LIST;
  const n = Number(args[0]);
  if (args.length > 1 || !Number.isInteger(n) || n < 1 || n > MAX_LIST) throw new AdminCommandError(`usage: ${usage} (1..${MAX_LIST})`);
  return n;
}

function noArgs (args: string[], usage: string): void {
  if (args.length > 0) throw new AdminCommandError(`usage: ${usage}`);
}

const sec = (ms: number): string => `${Math.round(ms / 1000)}s`;

/** The session cache's tiers, fastest first; the shared tier alone when the source names none. */
function tiersOf (ctx: AdminContext): SessionTier[] {
  return ctx.source.sessionTiers?.() ?? [{ name: 'shared', store: ctx.source.store }];
}

const COMMANDS: Record<string, Command> = {
  'help': {
    usage: 'help',
    help: 'this list',
    run: () => Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(22)} ${c.help}\n`).join(''),
  },
  'show info': {
    usage: 'show info',
    help: 'process and TLS session cache counters, one "Name: value" per line',
    run: (args, ctx) => { noArgs(args, 'show info'); return formatInfo(infoFields(ctx)); },
  },
  'show stat': {
    usage: 'show stat',
    help: 'CSV, one row per frontend, server and backend',
    run: (args, ctx) => { noArgs(args, 'show stat'); return statCsv(ctx); },
  },
  'show sessions': {
    usage: 'show sessions [N]',
    help: `newest N cached sessions of every tier (default ${DEFAULT_LIST}): id prefix, bytes, age, ttl, tier`,
    async run (args, ctx) {
      const limit = count(args, 'show sessions [N]');
      const entries = ctx.source.store.stats().entries;
      const found = new Map<string, { entry: StoreEntryInfo; tiers: string[] }>();
      const notes: string[] = [];
      for (const { name, store } of tiersOf(ctx)) {
        try {
          const list = await store.list(limit);
          notes.push(name === 'shared' ? `shared: ${entries} entries` : `${name}: ${list.length} listed`);
          for (const entry of list) {
            const id = entry.key.toString('hex');
            const seen = found.get(id);
            if (seen) seen.tiers.push(name); else found.set(id, { entry, tiers: [name] });
          }
        } catch (err) {
          notes.push(`${name}: unavailable (${(err as Error).message})`);
        }
      }
      const shown = [...found.values()].sort((a, b) => a.entry.age - b.entry.age).slice(0, limit);
      // A prefix is enough to tell sessions apart; the whole id is a resumption handle.
      const lines = shown.map(({ entry: e, tiers }) => `${e.key.subarray(0, 8).toString('hex')}… bytes=${e.bytes} age=${sec(e.age)} ttl=${sec(e.ttl)} tier=${tiers.join('+')}\n`);
      return `# id bytes age ttl tier (${shown.length} shown; ${notes.join('; ')})\n${lines.join('')}`;
    },
  },
  'clear sessions': {
    usage: 'clear sessions',
    help: 'empty every tier of the session cache (clients then make full handshakes)',
    async run (args, ctx) {
      noArgs(args, 'clear sessions');
      // The slowest tier first: cleared the other way, a worker could refill the shared
      // tier from Redis in between.
      const done: string[] = [];
      let total = 0;
      for (const { name, store } of tiersOf(ctx).reverse()) {
        try {
          const n = await store.clear();
          total = Math.max(total, n);
          done.unshift(`${name}: ${n}`);
        } catch (err) {
          // Answered (and logged) as `Error: ...` by runCommand.
          throw new SessionStoreUnavailableError(`${name} tier not cleared (${(err as Error).message}); ${done.length ? `cleared ${done.join('; ')}` : 'nothing cleared'}`, { cause: err });
        }
      }
      ctx.log.warn({ removed: total, tiers: done }, 'admin: session cache cleared');
      return `cleared ${total} sessions (${done.join('; ')})\n`;
    },
  },
  'show keys': {
    usage: 'show keys',
    help: 'ticket keys: name, age, role (never the key bytes)',
    run (args, ctx) {
      noArgs(args, 'show keys');
      const now = Date.now();
      const keys = ctx.source.keys.keys();
      const head = `# ${keys.length} keys, source ${ctx.source.rotation.source}, tickets ${ctx.source.config.tickets.enabled ? 'enabled' : 'disabled'}\n# index name age role created\n`;
      return head + keys.map((k, i) => `${i} ${ticketKeyName(k).toString('hex')} ${sec(now - k.created)} ${i === 0 ? 'encrypt' : 'decrypt'} ${new Date(k.created).toISOString()}\n`).join('');
    },
  },
  'rotate keys': {
    usage: 'rotate keys',
    help: 'a new encrypting ticket key now (or re-read tickets.key_file)',
    async run (args, ctx) {
      noArgs(args, 'rotate keys');
      await ctx.source.rotation.rotateNow();
      const newest = ctx.source.keys.keys()[0];
      ctx.log.info({ source: ctx.source.rotation.source }, 'admin: ticket keys rotated');
      return `ticket keys rotated (source ${ctx.source.rotation.source}); encrypting key ${newest ? ticketKeyName(newest).toString('hex') : 'none'}\n`;
    },
  },
  'debug dev panic': {
    usage: 'debug dev panic N',
    help: 'expert: worker N dies of an uncaught exception (to see it replaced, sessions kept)',
    run (args, ctx) {
      const n = Number(args[0]);
      if (args.length !== 1 || !Number.isInteger(n) || n < 0) throw new AdminCommandError('usage: debug dev panic N (a worker index from show info)');
      if (!ctx.source.panic?.(n)) throw new AdminCommandError(`no running worker ${n}`);
      ctx.log.warn({ worker: n }, `admin: panic requested for worker ${n}`);
      return `worker ${n} told to panic\n`;
    },
  },
  'show table': {
    usage: 'show table [N]',
    help: 'pass-through stick tables (session -> server), newest N entries each',
    async run (args, ctx) {
      const limit = count(args, 'show table [N]');
      const { tables, config } = ctx.source;
      if (!tables || tables.size === 0) return '# no stick table (no pass-through frontend with persist)\n';
      let out = '';
      for (const [frontend, store] of tables) {
        const f = config.frontends.find((x) => x.name === frontend);
        const table = new StickTable(store, frontend, f?.persist?.expire ?? 0);
        const stats = store.stats();
        const rows = await table.list(limit);
        out += `# table: ${frontend}, type: ssl-session-id, size:${stats.capacity}, used:${stats.entries}\n`;
        out += rows.map((e) => `key=${e.kind}:${e.key} server=${e.server} age=${sec(e.age)} exp=${sec(e.ttl)}\n`).join('');
      }
      return out;
    },
  },
};

/** Printable, short: an error line must not echo a terminal escape or 4 KiB back. */
function printable (s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 64)}...` : clean;
}

/** Runs one command line; the answer always ends with a newline. */
export async function runCommand (line: string, ctx: AdminContext): Promise<string> {
  if (Buffer.byteLength(line) > MAX_COMMAND_BYTES) return `Unknown command: line over ${MAX_COMMAND_BYTES} bytes\n`;
  const words = line.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return 'Unknown command: empty line; try help\n';
  // The longest known command the first words spell (`debug dev panic` has three).
  const name = [3, 2, 1].map((n) => words.slice(0, n).join(' ')).find((candidate) => Object.hasOwn(COMMANDS, candidate)) ?? words[0];
  const command = COMMANDS[name];
  if (!command || !Object.hasOwn(COMMANDS, name)) return `Unknown command: ${printable(line.trim())}; try help\n`;
  try {
    const answer = await command.run(words.slice(name.split(' ').length), ctx);
    return answer.endsWith('\n') ? answer : `${answer}\n`;
  } catch (err) {
    if (err instanceof AdminCommandError) return `${err.message}\n`;
    ctx.log.error({ command: name, err: (err as Error).message }, 'admin command failed');
    return `Error: ${(err as Error).message}\n`;
  }
}
