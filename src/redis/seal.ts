// AES-256-GCM sealing of what warmshake puts in Redis. A Redis server (or its backups,
// or anyone on its network) then holds only ciphertext: a session's master secret would
// otherwise decrypt every recorded connection that resumed it.
//
// Sealed layout: version (1) | key id (4) | IV (12) | ciphertext | tag (16).
// The key id is the first 4 bytes of SHA-256(key): it lets `open` pick the right key
// during a key change (two key files: the new one first encrypts, both decrypt) without
// revealing anything about the key. The header is authenticated too (it is part of the
// AAD), so a flipped version or key id fails like a flipped ciphertext byte.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkSecretFile, unreadable } from '../secret-files.ts';
import { KeyFileError } from '../errors.ts';

export const SEAL_KEY_BYTES = 32;
const VERSION = 1;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + IV_BYTES;
/** Bytes a sealed value adds to its plaintext. */
export const SEAL_OVERHEAD = HEADER_BYTES + TAG_BYTES;

interface SealKey {
  id: Buffer;
  key: Buffer;
}

export class Sealer {
  readonly #keys: SealKey[];

  /** `keys[0]` encrypts; every key decrypts. Each must be 32 bytes. */
  constructor (keys: readonly Buffer[]) {
    if (keys.length === 0) throw new KeyFileError('at least one 32-byte cache key is needed');
    this.#keys = keys.map((key, i) => {
      if (key.length !== SEAL_KEY_BYTES) throw new KeyFileError(`cache key ${i} has ${key.length} bytes, expected ${SEAL_KEY_BYTES}`);
      return { id: keyId(key), key: Buffer.from(key) };
    });
  }

  /**
   * Reads each key file (see `parseCacheKey` for the format). A file that group or
   * others can read is refused (KeyPermissionsError, with the `chmod 600` fix); an
   * unreadable file or one that does not hold exactly 32 bytes is a KeyFileError
   * naming the file.
   */
  static fromKeyFiles (files: readonly string[]): Sealer {
    if (files.length === 0) throw new KeyFileError('session_cache.redis.key_file: at least one key file is needed');
    return new Sealer(files.map(readCacheKeyFile));
  }

  seal (plain: Buffer, aad: Buffer): Buffer {
    const { id, key } = this.#keys[0];
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header[0] = VERSION;
    id.copy(header, 1);
    randomBytes(IV_BYTES).copy(header, 1 + KEY_ID_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, header.subarray(1 + KEY_ID_BYTES));
    cipher.setAAD(Buffer.concat([header, aad]));
    const body = cipher.update(plain);
    const last = cipher.final();
    return Buffer.concat([header, body, last, cipher.getAuthTag()]);
  }

  /** The plaintext, or undefined when `sealed` is malformed, tampered, bound to another AAD or sealed by an unknown key. Never throws. */
  open (sealed: Buffer, aad: Buffer): Buffer | undefined {
    if (sealed.length < SEAL_OVERHEAD || sealed[0] !== VERSION) return undefined;
    const id = sealed.subarray(1, 1 + KEY_ID_BYTES);
    const header = sealed.subarray(0, HEADER_BYTES);
    const iv = sealed.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
    const body = sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    // Ids are 4 bytes, so two keys may share one: try every key that matches.
    for (const k of this.#keys) {
      if (!k.id.equals(id)) continue;
      try {
        const decipher = createDecipheriv('aes-256-gcm', k.key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.concat([header, aad]));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        // Wrong key with a colliding id, or tampered: try the next one.
      }
    }
    return undefined;
  }

  /** True when `sealed` was sealed by the key that encrypts now (false: reseal it during a key change). */
  isCurrent (sealed: Buffer): boolean {
    return sealed.length >= SEAL_OVERHEAD && this.#keys[0].id.equals(sealed.subarray(1, 1 + KEY_ID_BYTES));
  }
}

/**
 * A new cache key as the text a key file holds: 64 hex characters and a newline
 * (for `warmshake keys generate` and the docs: `... > cache.key && chmod 600 cache.key`).
 */
export function generateCacheKey (): string {
  return `${randomBytes(SEAL_KEY_BYTES).toString('hex')}\n`;
}

/**
 * A key file holds 32 random bytes written as 64 hex characters (what
 * `generateCacheKey` prints, or `openssl rand -hex 32`), as base64 (44 characters, or
 * 43 without padding), or as exactly 32 raw bytes (`head -c 32 /dev/urandom`) that are
 * not all printable. Whitespace around text is ignored. Returns undefined when the
 * content is none of these.
 */
export function parseCacheKey (content: Buffer): Buffer | undefined {
  const text = content.toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) {
    const key = Buffer.from(text, 'base64');
    if (key.length === SEAL_KEY_BYTES) return key;
  }
  // Raw bytes last, and only when they are not text: 32 characters of text (`openssl
  // rand -hex 16`) are a short key written the wrong way, not 32 random bytes (random
  // bytes are all printable about once in 10^14).
  if (content.length === SEAL_KEY_BYTES && !/^[\x20-\x7e\s]*$/.test(content.toString('latin1'))) return Buffer.from(content);
  return undefined;
}

/**
 * Why a readable, private key file does not hold a cache key, or undefined when it does:
 * the check `warmshake check` runs. Names the file and the fix, never the bytes.
 */
export function cacheKeyFileProblem (file: string): string | undefined {
  const content = readFileSync(file);
  const key = parseCacheKey(content);
  content.fill(0);
  if (key) { key.fill(0); return undefined; }
  return `${file} must hold 32 random bytes as 64 hex characters, base64 or 32 raw bytes; create one with: openssl rand -hex 32 > ${file} && chmod 600 ${file}`;
}

function readCacheKeyFile (file: string): Buffer {
  const problem = unreadable(file);
  if (problem) throw new KeyFileError(`cache key file ${problem}`);
  checkSecretFile(file);
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (err) {
    throw new KeyFileError(`cache key file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  const key = parseCacheKey(content);
  content.fill(0);
  if (!key) {
    throw new KeyFileError(`cache key file ${file} must hold 32 random bytes as 64 hex characters, base64 or 32 raw bytes (${content.length} bytes found); create one with: openssl rand -hex 32 > ${file} && chmod 600 ${file}`);
  }
  return key;
}

function keyId (key: Buffer): Buffer {
  return createHash('sha256').update(key).digest().subarray(0, KEY_ID_BYTES);
}
