// Ticket keys shared by every node through Redis, so that a ticket issued by one node
// resumes on any other. The ring lives in one Redis key, sealed like the sessions (a
// ticket key decrypts every ticket made with it). Every node loads it; when the newest
// key is older than `rotateEvery`, one node (the one that wins `SET lock NX PX`) adds a
// new key in front and drops the oldest past `keep`. The lock expires by itself, so a
// node dying mid-rotation does not block the others. When Redis is down `sync` resolves
// undefined and the node keeps the ring it has (its tickets still resume locally). When
// Redis comes back empty (restarted without persistence, flushed), the first node to take
// the lock writes its own ring back, so every ticket issued before still resumes.
import { SessionStoreUnavailableError } from '../errors.ts';
import { TIMED_OUT, withDeadline } from '../redis/deadline.ts';
import type { RedisClient } from '../redis/client.ts';
import type { Sealer } from '../redis/seal.ts';
import { generateTicketKey, TICKET_KEY_BYTES } from './ticket-key.ts';
import type { TicketKey, TicketKeyOrigin } from './ticket-key.ts';

export interface RedisTicketKeysOptions {
  /** Redis key prefix (the ring is `<prefix>tk:ring`, the lock `<prefix>tk:lock`). */
  prefix: string;
  /** Older keys kept for decryption behind the newest (the ring holds at most keep + 1). */
  keep: number;
  /** Milliseconds after which the newest key is replaced. */
  rotateEvery: number;
  /** Who holds the lock (shown in Redis, and only its holder releases it). */
  nodeId: string;
  /** Milliseconds each Redis command may take. */
  timeout: number;
  /** Milliseconds the rotation lock lives if its holder never releases it. */
  lockTtl: number;
  /** Milliseconds a node that lost the lock waits for the winner's new ring. */
  lockWait: number;
  /** Something an operator should hear about (an unreadable ring); Redis outages are not reported here. */
  onWarning: (message: string) => void;
}

export const DEFAULT_REDIS_TICKET_KEYS_OPTIONS: RedisTicketKeysOptions = Object.freeze({
  prefix: 'warmshake:',
  keep: 3,
  rotateEvery: 12 * 3600_000,
  nodeId: 'warmshake',
  timeout: 1000,
  lockTtl: 10_000,
  lockWait: 500,
  onWarning: () => {},
});

const RING_VERSION = 1;
const ENTRY_BYTES = 8 + TICKET_KEY_BYTES;
/** Deletes the lock only if this node still holds it (it may have expired and been taken by another). */
const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const UNREADABLE = Symbol('unreadable');

interface Ring {
  keys: TicketKey[];
  /** Sealed by the key that encrypts now (false: reseal it, the old cache key is on its way out). */
  current: boolean;
}

export class RedisTicketKeys implements TicketKeyOrigin {
  readonly name = 'redis';
  readonly #client: RedisClient;
  readonly #sealer: Sealer;
  readonly #o: RedisTicketKeysOptions;
  readonly #ringKey: string;
  readonly #lockKey: string;

  constructor (client: RedisClient, sealer: Sealer, options: Partial<RedisTicketKeysOptions> = {}) {
    this.#client = client;
    this.#sealer = sealer;
    this.#o = { ...DEFAULT_REDIS_TICKET_KEYS_OPTIONS, ...options };
    this.#ringKey = `${this.#o.prefix}tk:ring`;
    this.#lockKey = `${this.#o.prefix}tk:lock`;
  }

  /** `rotate keys` rotates now; otherwise `sync`. */
  refresh (current: readonly TicketKey[], rotate: boolean): Promise<readonly TicketKey[] | undefined> {
    // The node's own ring seeds a Redis that came back empty.
    return rotate ? this.rotateNow() : this.sync(undefined, current);
  }

  /**
   * Loads the shared ring, rotating it first (under the lock) when its newest key is
   * older than `rotateEvery` at `now`; newest first. `now` defaults to Redis's clock, so
   * nodes with skewed clocks still agree on when to rotate. Resolves undefined when Redis
   * fails or the ring cannot be opened: keep the local ring. `local` is the ring this
   * node holds: when Redis has none (restarted empty), it seeds Redis, rather than a new
   * key that would make every ticket issued so far unreadable.
   */
  async sync (now?: number, local: readonly TicketKey[] = []): Promise<TicketKey[] | undefined> {
    try {
      const at = now ?? await this.#redisNow();
      const ring = await this.#read();
      if (ring === UNREADABLE) {
        this.#o.onWarning(`the ticket key ring in Redis (${this.#ringKey}) cannot be opened with this node's cache keys; is key_file the same on every node? "rotate keys" replaces the ring`);
        return undefined;
      }
      if (ring && ring.current && !this.#stale(ring.keys, at)) return ring.keys;
      if (!(await this.#lock())) {
        // Another node is rotating or resealing: wait a little for its ring, so that all
        // nodes switch to the new key together; past `lockWait`, serve what we have.
        return await this.#waitForRing(at) ?? (ring && ring.keys.length > 0 ? ring.keys : undefined);
      }
      try {
        // Read again under the lock: another node may have rotated between our read and our lock.
        const locked = await this.#read();
        if (locked === UNREADABLE) return undefined;
        let keys = locked?.keys ?? local.slice(0, this.#o.keep + 1);
        if (!locked && local.length > 0) this.#o.onWarning(`no ticket key ring in Redis (${this.#ringKey}; restarted empty?): seeded it with this node's ${keys.length} keys`);
        if (this.#stale(keys, at)) keys = this.#rotated(keys, at);
        else if (locked?.current) return keys;
        await this.#write(keys);
        return keys;
      } finally {
        await this.#unlock();
      }
    } catch {
      return undefined;
    }
  }

  /**
   * Adds a new key in front now, whatever the newest key's age (`rotate keys` on the
   * admin socket). A ring that cannot be opened is replaced. Rejects with
   * SessionStoreUnavailableError when Redis fails or another node holds the lock.
   */
  async rotateNow (now?: number): Promise<TicketKey[]> {
    try {
      const at = now ?? await this.#redisNow();
      const deadline = Date.now() + this.#o.lockWait;
      while (!(await this.#lock())) {
        if (Date.now() >= deadline) throw new SessionStoreUnavailableError('another node is rotating the ticket keys; try again');
        await delay(25);
      }
      try {
        const ring = await this.#read();
        const keys = this.#rotated(ring && ring !== UNREADABLE ? ring.keys : [], at);
        await this.#write(keys);
        return keys;
      } finally {
        await this.#unlock();
      }
    } catch (err) {
      if (err instanceof SessionStoreUnavailableError) throw err;
      throw new SessionStoreUnavailableError(`redis: ${(err as Error).message}`, { cause: err });
    }
  }

  #stale (keys: readonly TicketKey[], at: number): boolean {
    return keys.length === 0 || at - keys[0].created >= this.#o.rotateEvery;
  }

  #rotated (keys: readonly TicketKey[], at: number): TicketKey[] {
    return [generateTicketKey(at), ...keys].slice(0, this.#o.keep + 1);
  }

  async #command<T> (promise: Promise<T>): Promise<T> {
    const reply = await withDeadline(promise, this.#o.timeout);
    if (reply === TIMED_OUT) throw new Error(`no answer within ${this.#o.timeout} ms`);
    return reply;
  }

  async #redisNow (): Promise<number> {
    const [seconds, micros] = (await this.#command(this.#client.time())).map(Number);
    return seconds * 1000 + Math.floor(micros / 1000);
  }

  /** The ring, undefined when there is none yet, UNREADABLE when it does not open. */
  async #read (): Promise<Ring | undefined | typeof UNREADABLE> {
    const sealed = await this.#command(this.#client.getBuffer(this.#ringKey));
    if (!sealed) return undefined;
    const plain = this.#sealer.open(sealed, Buffer.from(this.#ringKey));
    const keys = plain && decodeRing(plain);
    plain?.fill(0);
    if (!keys) return UNREADABLE;
    return { keys, current: this.#sealer.isCurrent(sealed) };
  }

  async #write (keys: readonly TicketKey[]): Promise<void> {
    const plain = encodeRing(keys);
    const sealed = this.#sealer.seal(plain, Buffer.from(this.#ringKey));
    plain.fill(0);
    await this.#command(this.#client.set(this.#ringKey, sealed));
  }

  async #lock (): Promise<boolean> {
    return (await this.#command(this.#client.set(this.#lockKey, this.#o.nodeId, 'PX', this.#o.lockTtl, 'NX'))) === 'OK';
  }

  async #unlock (): Promise<void> {
    // A failed unlock only delays the next rotation until the lock expires.
    await this.#command(this.#client.eval(UNLOCK, 1, this.#lockKey, this.#o.nodeId)).catch(() => {});
  }

  async #waitForRing (at: number): Promise<TicketKey[] | undefined> {
    const deadline = Date.now() + this.#o.lockWait;
    while (Date.now() < deadline) {
      await delay(25);
      const ring = await this.#read();
      if (ring && ring !== UNREADABLE && !this.#stale(ring.keys, at)) return ring.keys;
    }
    return undefined;
  }
}

/** version (1) | count (1) | count × (created ms as float64 BE (8) | key (48)), newest first. */
export function encodeRing (keys: readonly TicketKey[]): Buffer {
  const out = Buffer.alloc(2 + keys.length * ENTRY_BYTES);
  out[0] = RING_VERSION;
  out[1] = keys.length;
  keys.forEach((k, i) => {
    const at = 2 + i * ENTRY_BYTES;
    out.writeDoubleBE(k.created, at);
    k.bytes.copy(out, at + 8);
  });
  return out;
}

export function decodeRing (bytes: Buffer): TicketKey[] | undefined {
  if (bytes.length < 2 || bytes[0] !== RING_VERSION || bytes.length !== 2 + bytes[1] * ENTRY_BYTES) return undefined;
  const keys: TicketKey[] = [];
  for (let i = 0; i < bytes[1]; i++) {
    const at = 2 + i * ENTRY_BYTES;
    keys.push({ created: bytes.readDoubleBE(at), bytes: Buffer.from(bytes.subarray(at + 8, at + ENTRY_BYTES)) });
  }
  return keys;
}

function delay (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
