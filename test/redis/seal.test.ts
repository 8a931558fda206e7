import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KeyFileError, KeyPermissionsError } from '../../src/errors.ts';
import { generateCacheKey, parseCacheKey, SEAL_OVERHEAD, Sealer } from '../../src/redis/seal.ts';

const aad = Buffer.from('warmshake:s:0011');

function tempDir (t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'warmshake-seal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function keyFile (dir: string, name: string, content: string | Buffer, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  chmodSync(file, mode);
  return file;
}

test('seal then open gives the plaintext back; the sealed bytes do not contain it', () => {
  const sealer = new Sealer([randomBytes(32)]);
  const plain = Buffer.from('a TLS session with its master secret, 0123456789abcdef');
  const sealed = sealer.seal(plain, aad);
  assert.equal(sealed.length, plain.length + SEAL_OVERHEAD);
  assert.equal(sealed.includes(plain), false);
  assert.equal(sealed.includes(plain.subarray(0, 8)), false);
  assert.deepEqual(sealer.open(sealed, aad), plain);
  // A fresh IV each time: the same plaintext never seals to the same bytes.
  assert.notDeepEqual(sealer.seal(plain, aad), sealed);
});

test('open fails (undefined, no throw) on a wrong AAD, any flipped byte, truncation, or another key', () => {
  const sealer = new Sealer([randomBytes(32)]);
  const sealed = sealer.seal(Buffer.from('secret'), aad);
  assert.equal(sealer.open(sealed, Buffer.from('warmshake:s:0012')), undefined);
  for (let i = 0; i < sealed.length; i++) {
    const bad = Buffer.from(sealed);
    bad[i] ^= 0x01;
    assert.equal(sealer.open(bad, aad), undefined, `byte ${i} flipped`);
  }
  assert.equal(sealer.open(sealed.subarray(0, sealed.length - 1), aad), undefined);
  assert.equal(sealer.open(Buffer.alloc(0), aad), undefined);
  assert.equal(new Sealer([randomBytes(32)]).open(sealed, aad), undefined);
});

test('two keys during a key change: the first encrypts, both decrypt', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const before = new Sealer([oldKey]);
  const during = new Sealer([newKey, oldKey]);
  const after = new Sealer([newKey]);
  const oldValue = before.seal(Buffer.from('old'), aad);
  const newValue = during.seal(Buffer.from('new'), aad);
  assert.deepEqual(during.open(oldValue, aad), Buffer.from('old'));
  assert.deepEqual(during.open(newValue, aad), Buffer.from('new'));
  assert.deepEqual(after.open(newValue, aad), Buffer.from('new'));
  assert.equal(after.open(oldValue, aad), undefined);
  assert.equal(before.open(newValue, aad), undefined);
  assert.equal(during.isCurrent(newValue), true);
  assert.equal(during.isCurrent(oldValue), false);
});

test('a key must be 32 bytes, and at least one is needed', () => {
  assert.throws(() => new Sealer([]), KeyFileError);
  assert.throws(() => new Sealer([randomBytes(16)]), KeyFileError);
});

test('key files: hex (what generateCacheKey prints), base64 or 32 raw bytes', (t) => {
  const dir = tempDir(t);
  const raw = randomBytes(32);
  const generated = generateCacheKey();
  assert.match(generated, /^[0-9a-f]{64}\n$/);
  const files = [
    keyFile(dir, 'hex.key', generated),
    keyFile(dir, 'b64.key', `${raw.toString('base64')}\n`),
    keyFile(dir, 'raw.key', raw, 0o400),
  ];
  const sealer = Sealer.fromKeyFiles(files);
  // The raw file's key decrypts what a sealer made from the same bytes seals.
  const sealed = new Sealer([raw]).seal(Buffer.from('x'), aad);
  assert.deepEqual(sealer.open(sealed, aad), Buffer.from('x'));
  assert.deepEqual(parseCacheKey(Buffer.from(generated)), Buffer.from(generated.trim(), 'hex'));
  assert.equal(parseCacheKey(Buffer.from('too short')), undefined);
});

test('a key file that group or others can read is refused with the chmod 600 fix', (t) => {
  const dir = tempDir(t);
  const file = keyFile(dir, 'open.key', generateCacheKey(), 0o644);
  assert.throws(() => Sealer.fromKeyFiles([file]), (err: unknown) => {
    assert.ok(err instanceof KeyPermissionsError);
    assert.equal(err.code, 'WS_ERR_KEY_PERMISSIONS');
    assert.match(err.message, new RegExp(`chmod 600 ${file}`));
    assert.match(err.message, /0644/);
    return true;
  });
});

test('a missing key file or one of the wrong length is a KeyFileError naming the file', (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'missing.key');
  assert.throws(() => Sealer.fromKeyFiles([missing]), (err: unknown) => err instanceof KeyFileError && err.message.includes(missing));
  const short = keyFile(dir, 'short.key', randomBytes(16).toString('hex'));
  assert.throws(() => Sealer.fromKeyFiles([short]), (err: unknown) => {
    assert.ok(err instanceof KeyFileError);
    assert.equal(err.code, 'WS_ERR_KEY_FILE');
    assert.match(err.message, new RegExp(short));
    assert.match(err.message, /32 random bytes/);
    return true;
  });
  assert.throws(() => Sealer.fromKeyFiles([]), KeyFileError);
});
