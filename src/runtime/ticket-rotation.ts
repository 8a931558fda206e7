// Keeps the shared ticket-key ring current. One source at a time: a key file (the
// operator rotates it), Redis (every node shares one ring; one node rotates it under a
// lock), or this process alone (a fresh key every `rotate_every`).
import type { Config } from '../config/types.ts';
import { createRedisClient } from '../session-cache/redis-client.ts';
import { Sealer } from '../session-cache/seal.ts';
import { RedisTicketKeys } from '../tls/redis-ticket-keys.ts';
import type { SharedTicketKeys } from '../tls/shared-ticket-keys.ts';
import { generateTicketKey } from '../tls/ticket-key.ts';
import { readTicketKeyFile } from '../tls/ticket-key-file.ts';
import type { Logger } from './logger.ts';

export type KeySource = 'file' | 'redis' | 'local';

export class TicketRotation {
  #ring: SharedTicketKeys;
  #config: Config;
  #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #redis: { keys: RedisTicketKeys; close: () => Promise<unknown> } | undefined;

  constructor (ring: SharedTicketKeys, config: Config, log: Logger) {
    this.#ring = ring;
    this.#config = config;
    this.#log = log;
  }

  get source (): KeySource {
    if (this.#config.tickets.key_file) return 'file';
    return this.#config.session_cache.redis ? 'redis' : 'local';
  }

  async start (): Promise<void> {
    const { tickets, session_cache: cache } = this.#config;
    if (this.source === 'redis' && cache.redis) {
      const client = createRedisClient(cache.redis);
      this.#redis = {
        keys: new RedisTicketKeys(client, Sealer.fromKeyFiles(cache.redis.key_file), {
          prefix: cache.redis.prefix, keep: tickets.keep, rotateEvery: tickets.rotate_every, nodeId: `${process.pid}-${Date.now()}`,
        }),
        close: () => client.quit().catch(() => client.disconnect()),
      };
    }
    await this.#refresh(false);
    // Redis: look often, so a rotation made by another node arrives within seconds.
    const every = this.source === 'redis' ? Math.min(tickets.rotate_every, 10_000) : tickets.rotate_every;
    if (this.source !== 'file') {
      this.#timer = setInterval(() => { void this.#refresh(false); }, every);
      this.#timer.unref();
    }
  }

  /** Called on reload with the (possibly new) ring. */
  async reconfigure (ring: SharedTicketKeys, config: Config): Promise<void> {
    this.stop();
    this.#ring = ring;
    this.#config = config;
    await this.start();
  }

  /** `rotate keys` on the admin socket: a new encrypting key now (or re-read the key file). */
  async rotateNow (): Promise<void> {
    await this.#refresh(true);
  }

  async #refresh (force: boolean): Promise<void> {
    const { tickets } = this.#config;
    try {
      if (this.source === 'file') {
        this.#ring.replace(readTicketKeyFile(tickets.key_file!).slice(0, tickets.keep + 1));
      } else if (this.#redis) {
        const keys = force ? await this.#redis.keys.rotateNow() : await this.#redis.keys.sync(Date.now());
        if (keys) this.#ring.replace(keys);
        else if (this.#ring.keys().length === 0) this.#ring.push(generateTicketKey());
      } else if (force || this.#ring.keys().length === 0 || Date.now() - this.#ring.keys()[0].created >= tickets.rotate_every) {
        this.#ring.push(generateTicketKey());
      } else {
        return;
      }
      if (force) this.#log.info({ source: this.source, keys: this.#ring.keys().length }, 'ticket keys rotated');
    } catch (err) {
      this.#log.error({ source: this.source, err: (err as Error).message }, 'ticket keys not refreshed; the current ring stays in use');
      if (this.#ring.keys().length === 0) this.#ring.push(generateTicketKey());
    }
  }

  stop (): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    void this.#redis?.close();
    this.#redis = undefined;
  }
}
