// What the pass-through stick table is keyed by: a kind prefix and the identity (hashed
// when long). What a connection looks up and learns: frontend/stick-learning.ts.
import { createHash } from 'node:crypto';
import type { StickKind } from '../diagnostics.ts';

export type { StickKind } from '../diagnostics.ts';

/**
 * One-letter prefixes keep the three kinds apart in one table, and apart from the
 * terminator's raw session ids if both ever share a Redis prefix.
 */
const PREFIX: Record<StickKind, string> = { id: 'i:', psk: 'p:', key_name: 'k:' };
const KINDS: Record<string, StickKind> = { 'i:': 'id', 'p:': 'psk', 'k:': 'key_name' };
/** Identities up to this size are kept as they are (session ids, OpenSSL's stateful tickets); longer ones are hashed. */
const MAX_RAW_BYTES = 32;

export interface StickKey {
  kind: StickKind;
  /** Prefix + identity (or its SHA-256): at most 34 bytes, well inside a 64-byte store key. */
  key: Buffer;
}

export function stickKey (kind: StickKind, identity: Buffer): StickKey {
  const body = identity.length > MAX_RAW_BYTES ? createHash('sha256').update(identity).digest() : identity;
  return { kind, key: Buffer.concat([Buffer.from(PREFIX[kind], 'latin1'), body]) };
}

/** The kind of a stored key and its identity bytes (hashed if it was long); undefined for a foreign key. */
export function parseStickKey (key: Buffer): { kind: StickKind; body: Buffer } | undefined {
  const kind = KINDS[key.subarray(0, 2).toString('latin1')];
  return kind === undefined ? undefined : { kind, body: key.subarray(2) };
}
