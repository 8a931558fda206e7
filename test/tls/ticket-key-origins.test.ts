// The three ticket-key origins run the one conformance suite: this process alone, the
// operator's key file, and a ring shared through a real redis-server.
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRedisClient, waitReady } from '../../src/redis/client.ts';
import { Sealer } from '../../src/redis/seal.ts';
import { RedisTicketKeys } from '../../src/tls/redis-ticket-keys.ts';
import { generateTicketKey, localTicketKeys } from '../../src/tls/ticket-key.ts';
import { fileTicketKeys, formatTicketKeyFile, parseTicketKeyFile } from '../../src/tls/ticket-key-file.ts';
import { tempDir } from '../helpers/certs.ts';
import { redisSkipReason, startRedis } from '../../bench/redis-server.ts';
import { ticketKeyOriginConformance } from './ticket-key-conformance.ts';

ticketKeyOriginConformance('local', async (_t, { keep, rotateEvery }) => ({ origin: localTicketKeys(keep, rotateEvery) }),
  { rotatesByItself: true });

ticketKeyOriginConformance('key file', async (t, { keep }) => {
  const file = join(tempDir(t), 'tickets.keys');
  // What `warmshake keys generate` writes, and what an operator's rotation does to it.
  const write = (keys: ReturnType<typeof generateTicketKey>[]): void => {
    writeFileSync(file, formatTicketKeyFile(keys));
    chmodSync(file, 0o600);
  };
  write([generateTicketKey()]);
  return {
    origin: fileTicketKeys(file, keep),
    peer: fileTicketKeys(file, keep),
    operatorRotates: () => write([generateTicketKey(), ...parseTicketKeyFile(readFileSync(file, 'utf8'), file)]),
  };
}, { rotatesByItself: false });

ticketKeyOriginConformance('redis', async (t, { keep, rotateEvery }) => {
  const redis = await startRedis(t);
  const sealer = new Sealer([randomBytes(32)]);
  const node = async (id: string): Promise<RedisTicketKeys> => {
    const client = createRedisClient({ url: redis.url });
    t.after(() => client.disconnect());
    await waitReady(client, 5000);
    return new RedisTicketKeys(client, sealer, { prefix: 'conf:', keep, rotateEvery, nodeId: id });
  };
  return { origin: await node('a'), peer: await node('b') };
}, { rotatesByItself: true, skip: redisSkipReason() });
