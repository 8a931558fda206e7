// Looks for secret bytes in text, in every form a careless log line or error message
// would carry them: base64 (both alphabets), hex, `<Buffer ab cd ..>` (util.inspect),
// `[171,205,..]` (a Buffer through JSON.stringify). A partial leak counts: any run of
// 16 characters of an encoding (8 bytes of hex, 12 of base64) is a hit, long enough
// that a random match in a few megabytes of logs is out of the question.

const WINDOW = 16;
const DECIMAL_RUN = 8;

/** Bytes to look for in every encoding, or a `text` (a PEM line) to look for as it is. */
export type Secret =
  | { /** What to call it in a failure message; never the bytes themselves. */ name: string; bytes: Buffer }
  | { name: string; text: string };

export interface Hit { secret: string; form: string; where: string }

function windows (text: string, size: number): string[] {
  if (text.length <= size) return [text];
  const out: string[] = [];
  for (let i = 0; i + size <= text.length; i++) out.push(text.slice(i, i + size));
  return out;
}

interface Needle { secret: string; form: string; needle: string; caseless: boolean }

function needles (secret: Secret): Needle[] {
  if ('text' in secret) return [{ secret: secret.name, form: 'text', needle: secret.text, caseless: false }];
  const { name, bytes } = secret;
  const out: Needle[] = [];
  const add = (form: string, text: string, caseless: boolean, size = WINDOW): void => {
    for (const needle of windows(text, size)) out.push({ secret: name, form, needle: caseless ? needle.toLowerCase() : needle, caseless });
  };
  // Each encoding from each of the first three offsets: base64 aligns on 3 bytes, so a
  // secret that sits inside a larger buffer is encoded differently there.
  for (let skip = 0; skip < 3 && skip < bytes.length; skip++) {
    const part = bytes.subarray(skip);
    add('base64', part.toString('base64').replace(/=+$/, ''), false);
    add('base64url', part.toString('base64url'), false);
  }
  add('hex', bytes.toString('hex'), true);
  add('inspect', [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' '), true, WINDOW + 8);
  const decimals = [...bytes].map(String);
  for (let i = 0; i + DECIMAL_RUN <= decimals.length; i++) {
    out.push({ secret: name, form: 'json-bytes', needle: decimals.slice(i, i + DECIMAL_RUN).join(','), caseless: false });
  }
  return out;
}

/** Every place in `sources` (name → text) where a piece of a secret shows. */
export function findLeaks (secrets: readonly Secret[], sources: Record<string, string>): Hit[] {
  const all = secrets.flatMap(needles);
  const hits: Hit[] = [];
  for (const [where, text] of Object.entries(sources)) {
    const lower = text.toLowerCase();
    const seen = new Set<string>();
    for (const n of all) {
      const key = `${n.secret}/${n.form}`;
      if (seen.has(key)) continue;
      if ((n.caseless ? lower : text).includes(n.needle)) {
        seen.add(key);
        hits.push({ secret: n.secret, form: n.form, where });
      }
    }
  }
  return hits;
}

/** The base64 lines between the BEGIN and END lines of a PEM block. */
export function pemBody (pem: string): string[] {
  return pem.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('-----'));
}
