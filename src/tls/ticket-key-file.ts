// The ticket-key file: one base64 key (48 bytes) per line, newest first, `#` comments.
// The first key encrypts new tickets; every key decrypts.
import { readFileSync } from 'node:fs';
import { KeyFileError } from '../errors.ts';
import { checkSecretFile } from '../secret-files.ts';
import { TICKET_KEY_BYTES, type TicketKey, type TicketKeyOrigin } from './ticket-key.ts';

export function formatTicketKeyFile (keys: readonly TicketKey[]): string {
  return `# warmshake ticket keys, newest first: the first encrypts, all decrypt. Keep this file mode 0600.\n${keys.map((k) => k.bytes.toString('base64')).join('\n')}\n`;
}

export function parseTicketKeyFile (text: string, file: string, now = Date.now()): TicketKey[] {
  const keys: TicketKey[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const bytes = Buffer.from(line, 'base64');
    if (bytes.length !== TICKET_KEY_BYTES || bytes.toString('base64') !== line) {
      throw new KeyFileError(`${file}:${i + 1}: expected a base64 ticket key of ${TICKET_KEY_BYTES} bytes`);
    }
    keys.push({ bytes, created: now });
  });
  if (keys.length === 0) throw new KeyFileError(`${file}: no ticket key in the file`);
  return keys;
}

/**
 * Why a readable, private ticket-key file does not hold a ring, or undefined when it
 * does: the check `warmshake check` runs. Names the file and line, never the bytes.
 */
export function ticketKeyFileProblem (file: string): string | undefined {
  try {
    for (const key of parseTicketKeyFile(readFileSync(file, 'utf8'), file)) key.bytes.fill(0);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Reads a ring, refusing a file that group or others can read. */
export function readTicketKeyFile (file: string): TicketKey[] {
  checkSecretFile(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KeyFileError(`${file}: cannot read the ticket-key file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  return parseTicketKeyFile(text, file);
}

/** The operator's ring: `rotate keys` re-reads the file (the operator rotates it, on every node at once). */
export function fileTicketKeys (file: string, keep: number): TicketKeyOrigin {
  return { name: 'file', refresh: async () => readTicketKeyFile(file).slice(0, keep + 1) };
}
