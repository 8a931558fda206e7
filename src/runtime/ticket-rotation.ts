// Keeps the shared ticket-key ring current. One source at a time: a key file (the
// operator rotates it), Redis (every node shares one ring; one node rotates it under a
// lock), or this process alone (a fresh key every `rotate_every`).
import type { Config } from '../config/types.ts';
import type { RedisClient } from '../redis/client.ts';
import { Sealer } from '../redis/seal.ts';
import { RedisTicketKeys } from '../tls/redis-ticket-keys.ts';
import type { SharedTicketKeys } from '../tls/shared-ticket-keys.ts';
import { generateTicketKey, localTicketKeys, type TicketKeyOrigin } from '../tls/ticket-key.ts';
import { fileTicketKeys } from '../tls/ticket-key-file.ts';
import type { Logger } from './logger.ts';

export type KeySource = 'file' | 'redis' | 'local';

const REDIS_POLL = 2000;
const LOCAL_CHECK = 60_000;

export class TicketRotation {
  #ring: SharedTicketKeys;
  #config: Config;
  #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #client: RedisClient | undefined;
  #origin: TicketKeyOrigin | undefined;

  /** `client`: the main thread's Redis connection, when session_cache.redis is set. */
  constructor (ring: SharedTicketKeys, config: Config, log: Logger, client?: RedisClient) {
    this.#ring = ring;
    this.#config = config;
    this.#log = log;
    this.#client = client;
  }

  get source (): KeySource {
    if (this.#config.tickets.key_file) return 'file';
    return this.#config.session_cache.redis ? 'redis' : 'local';
  }

  async start (): Promise<void> {
    const { tickets } = this.#config;
    this.#origin = this.#newOrigin();
    await this.#refresh(false);
    // Redis: look often (one GET), so a rotation made by another node arrives within
    // REDIS_POLL; until then a ticket under the new key that roams here is one full handshake.
    // Local: the age of the newest key decides, checked every minute, so a reload (which
    // restarts this timer) never postpones a rotation that is due.
    const every = Math.min(tickets.rotate_every, this.source === 'redis' ? REDIS_POLL : LOCAL_CHECK);
    if (this.source !== 'file') {
      this.#timer = setInterval(() => { void this.#refresh(false); }, every);
      this.#timer.unref();
    }
  }

  /** Called on reload with the (possibly new) ring. */
  async reconfigure (ring: SharedTicketKeys, config: Config, client?: RedisClient): Promise<void> {
    this.stop();
    this.#ring = ring;
    this.#config = config;
    this.#client = client;
    await this.start();
  }

  /** `rotate keys` on the admin socket: a new encrypting key now (or re-read the key file). */
  async rotateNow (): Promise<void> {
    await this.#refresh(true);
  }

  #newOrigin (): TicketKeyOrigin {
    const { tickets, session_cache: cache } = this.#config;
    if (tickets.key_file) return fileTicketKeys(tickets.key_file, tickets.keep);
    if (!cache.redis || !this.#client) return localTicketKeys(tickets.keep, tickets.rotate_every);
    // Redis TIME, not this clock, decides when to rotate: skewed nodes still agree.
    return new RedisTicketKeys(this.#client, Sealer.fromKeyFiles(cache.redis.key_file), {
      prefix: cache.redis.prefix, keep: tickets.keep, rotateEvery: tickets.rotate_every, nodeId: `${process.pid}-${Date.now()}`,
      onWarning: (message: string) => this.#log.warn({ source: 'redis' }, `ticket keys: ${message}`),
    });
  }

  async #refresh (force: boolean): Promise<void> {
    const origin = this.#origin ??= this.#newOrigin();
    try {
      const keys = await origin.refresh(this.#ring.keys(), force);
      if (keys) this.#ring.replace(keys);
      // Redis unreachable at start-up: serve a key of our own until it answers.
      else if (this.#ring.keys().length === 0) this.#ring.push(generateTicketKey());
      else return;
      if (force) this.#log.info({ source: this.source, keys: this.#ring.keys().length }, 'ticket keys rotated');
    } catch (err) {
      this.#log.error({ source: this.source, err: (err as Error).message }, 'ticket keys not refreshed; the current ring stays in use');
      if (this.#ring.keys().length === 0) this.#ring.push(generateTicketKey());
    }
  }

  stop (): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#origin = undefined;
  }
}
