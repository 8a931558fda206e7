// A small, strict parser of the Prometheus text format 0.0.4, so the /metrics test
// reads the exposition as a scraper would (line by line, labels with escapes, one
// TYPE per family before its samples) instead of matching the body with a regex.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: string;
  help?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue (s: string, line: number): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new Error(`line ${line}: bad value ${JSON.stringify(s)}`);
  return v;
}

/** `{a="1",b="x\"y"}` starting at `i` (the `{`); returns the labels and the index after `}`. */
function parseLabels (text: string, i: number, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++;
  while (true) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return [labels, i + 1];
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: label without =`);
    const name = text.slice(i, eq).trim();
    if (!LABEL.test(name)) throw new Error(`line ${line}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`line ${line}: duplicate label ${name}`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value not quoted`);
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      if (j >= text.length) throw new Error(`line ${line}: unterminated label value`);
      const c = text[j];
      if (c === '"') break;
      if (c === '\\') {
        const next = text[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`line ${line}: bad escape \\${next}`);
      } else {
        value += c;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`line ${line}: expected , or } after a label`);
  }
}

function familyOf (name: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  if (families.has(name)) return families.get(name);
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

export function parsePrometheus (body: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const seen = new Set<string>();
  let current: MetricFamily | undefined;
  const lines = body.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition must end with a newline');
  lines.forEach((text, n) => {
    const line = n + 1;
    if (text === '') return;
    if (text.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(text);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      let f = families.get(name);
      if (!f) {
        if (seen.has(name)) throw new Error(`line ${line}: family ${name} split in two`);
        f = { name, type: 'untyped', samples: [] };
        families.set(name, f);
        seen.add(name);
      }
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`line ${line}: bad type ${rest}`);
        if (f.samples.length > 0) throw new Error(`line ${line}: TYPE after samples of ${name}`);
        f.type = rest;
      } else {
        f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      current = f;
      return;
    }
    const brace = text.indexOf('{');
    const space = text.indexOf(' ');
    const nameEnd = brace >= 0 && (space < 0 || brace < space) ? brace : space;
    if (nameEnd < 0) throw new Error(`line ${line}: no value`);
    const name = text.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name ${JSON.stringify(name)}`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (text[i] === '{') [labels, i] = parseLabels(text, i, line);
    const rest = text.slice(i).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2) throw new Error(`line ${line}: expected value [timestamp]`);
    const value = parseValue(rest[0], line);
    let f = familyOf(name, families);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    if (current !== f && f.samples.length > 0) throw new Error(`line ${line}: samples of ${f.name} are not together`);
    current = f;
    f.samples.push({ name, labels, value });
  });
  // Histograms: cumulative buckets, +Inf bucket equal to _count.
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    const groups = new Map<string, Sample[]>();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      groups.set(key, [...(groups.get(key) ?? []), s]);
      if (s.name.endsWith('_bucket') && le === undefined) throw new Error(`${s.name}: bucket without le`);
    }
    for (const [key, samples] of groups) {
      const buckets = samples.filter((s) => s.name.endsWith('_bucket'));
      let prev = -Infinity;
      let last = -1;
      for (const b of buckets) {
        const le = parseValue(b.labels.le, 0);
        if (le <= prev) throw new Error(`${f.name}${key}: buckets not in increasing order`);
        if (b.value < last) throw new Error(`${f.name}${key}: buckets not cumulative`);
        prev = le;
        last = b.value;
      }
      if (prev !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
      const count = samples.find((s) => s.name.endsWith('_count'));
      if (!count || count.value !== last) throw new Error(`${f.name}${key}: _count does not equal the +Inf bucket`);
      if (!samples.some((s) => s.name.endsWith('_sum'))) throw new Error(`${f.name}${key}: no _sum`);
    }
  }
  return families;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sumOf (families: Map<string, MetricFamily>, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
  }
  return total;
}
