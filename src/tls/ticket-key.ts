// A session ticket encryption key (STEK) in the layout Node's `ticketKeys` takes:
// 16 bytes key name, 16 bytes HMAC secret, 16 bytes AES key. The key name is what a
// ticket carries in the clear (its first 16 bytes), so it picks the key to decrypt.
import { randomBytes } from 'node:crypto';

export const TICKET_KEY_BYTES = 48;
export const TICKET_KEY_NAME_BYTES = 16;

export interface TicketKey {
  /** The 48 bytes Node's `ticketKeys` takes. */
  bytes: Buffer;
  /** When it was generated, ms since the epoch. */
  created: number;
}

export function generateTicketKey (now = Date.now()): TicketKey {
  return { bytes: randomBytes(TICKET_KEY_BYTES), created: now };
}

export function ticketKeyName (key: TicketKey | Buffer): Buffer {
  const bytes = Buffer.isBuffer(key) ? key : key.bytes;
  return bytes.subarray(0, TICKET_KEY_NAME_BYTES);
}

/**
 * Where the ring of keys lives (one process: shared memory; many nodes: Redis behind it).
 * `keys()` is newest first: index 0 encrypts new tickets, the rest (at most `keep`) only decrypt.
 */
export interface TicketKeySource {
  keys (): readonly TicketKey[];
  /** Changes whenever the ring changes, so readers can cache what they build from it. */
  generation (): number;
}
