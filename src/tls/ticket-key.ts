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
 * Where the ring comes from, one origin per process: the operator's key file, a ring every
 * node shares through Redis, or this process alone. test/tls/ticket-key-conformance.ts
 * runs one suite against the three.
 */
export interface TicketKeyOrigin {
  /** For logs and `show info`. */
  readonly name: 'file' | 'redis' | 'local';
  /**
   * The ring to serve next, newest first, given the one served now: with a new key in
   * front when `rotate` (the file: re-read, the operator rotates it), or when the newest
   * key is older than `rotate_every` (Redis, local). Undefined: keep serving `current`.
   */
  refresh (current: readonly TicketKey[], rotate: boolean): Promise<readonly TicketKey[] | undefined>;
}

/**
 * A ring of this process alone: a fresh key every `rotateEvery`, `keep` older ones behind
 * it for decryption; other nodes cannot open its tickets.
 */
export function localTicketKeys (keep: number, rotateEvery: number): TicketKeyOrigin {
  return {
    name: 'local',
    async refresh (current, rotate) {
      const now = Date.now();
      if (!rotate && current.length > 0 && now - current[0].created < rotateEvery) return undefined;
      return [generateTicketKey(now), ...current].slice(0, keep + 1);
    },
  };
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
