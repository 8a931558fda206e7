// The engine's records as engineDrain hands them over: one string per drain (see
// c/addon_events.c for why), split here into NativeEvent objects. Records end with RS
// (0x1e), fields are separated by US (0x1f), in FIELDS order; a byte 0x1c-0x1f inside a
// field comes as 0x1c then the byte + 0x40. The duration comes in microseconds.
import type { NativeEvent } from './types.ts';

const RS = '\x1e';
const US = '\x1f';
const ESC = '\x1c';
const FIELDS = 16;

// The numbers of c/events.h, by position.
const KINDS: ReadonlyArray<NativeEvent['kind']> = ['error', 'handshake', 'error', 'stored', 'server'];
const METHODS: ReadonlyArray<NativeEvent['method']> = ['none', 'id', 'ticket', 'stateful_ticket'];
const MISSES = ['', 'unknown', 'expired', 'wrong_sni', 'unknown_ticket_key', 'ticket_rejected', 'rejected', 'store_error', 'store_timeout'];
const STAGES = ['handshake', 'client_hello', 'timeout', 'backend', 'proxy', 'limit', 'shutdown', 'access'];

function unescape (s: string): string {
  return s.includes(ESC) ? s.replace(/\x1c([\s\S])/g, (_, ch: string) => String.fromCharCode(ch.charCodeAt(0) - 0x40)) : s;
}

/** The records of one drain, in order; a malformed record (never written by the addon) is skipped. */
export function parseEvents (text: string): NativeEvent[] {
  const out: NativeEvent[] = [];
  if (text === '') return out;
  const records = text.split(RS);
  // The text ends with RS: the last piece is empty.
  for (let i = 0; i < records.length - 1; i++) {
    const f = records[i].split(US);
    if (f.length !== FIELDS) continue;
    out.push({
      kind: KINDS[Number(f[0])] ?? 'error',
      frontend: Number(f[1]),
      client: unescape(f[2]),
      backend: Number(f[3]),
      server: Number(f[4]),
      resumed: f[5] !== '0',
      answered: f[5] !== '0',
      stored: f[5] !== '0',
      stage: STAGES[Number(f[6])] ?? 'handshake',
      reason: unescape(f[7]),
      sni: unescape(f[8]),
      version: unescape(f[9]),
      cipher: unescape(f[10]),
      alpn: unescape(f[11]),
      method: METHODS[Number(f[12])] ?? 'none',
      miss: MISSES[Number(f[13])] ?? '',
      offered: unescape(f[14]),
      duration: Number(f[15]) / 1000
    });
  }
  return out;
}
