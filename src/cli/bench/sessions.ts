// Saved sessions moved between the bench coordinator and its worker threads in one
// buffer: structured clone of a Buffer copies its whole backing store (Node's 8 KB
// pool slab), so 100,000 loose session Buffers would cost hundreds of megabytes.

export interface PackedSessions {
  lengths: number[];
  data: Uint8Array;
}

export function packSessions (sessions: readonly Buffer[]): PackedSessions {
  return { lengths: sessions.map((s) => s.length), data: Buffer.concat(sessions) };
}

export function unpackSessions (packed: PackedSessions | undefined): Buffer[] {
  if (packed === undefined) return [];
  const data = Buffer.from(packed.data.buffer, packed.data.byteOffset, packed.data.byteLength);
  const out: Buffer[] = [];
  let at = 0;
  for (const length of packed.lengths) {
    out.push(data.subarray(at, at + length));
    at += length;
  }
  return out;
}

/** The `index`-th of `parts` near-equal slices of `items`. */
export function sliceFor<T> (items: readonly T[], parts: number, index: number): T[] {
  const base = Math.floor(items.length / parts);
  const extra = items.length % parts;
  const start = index * base + Math.min(index, extra);
  return items.slice(start, start + base + (index < extra ? 1 : 0));
}
