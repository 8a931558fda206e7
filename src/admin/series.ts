// Counter names carry their labels in Prometheus form (`name{k="v",...}`, see
// runtime/counters.ts); this reads them back so the admin side can group and sum.

export interface Series {
  name: string;
  labels: Record<string, string>;
}

/** Parses `name{k="v",...}` (values escaped as metricKey writes them). Malformed labels are dropped. */
export function parseSeries (key: string): Series {
  const open = key.indexOf('{');
  if (open < 0) return { name: key, labels: {} };
  const labels: Record<string, string> = {};
  let i = open + 1;
  while (i < key.length && key[i] !== '}') {
    const eq = key.indexOf('=', i);
    if (eq < 0 || key[eq + 1] !== '"') break;
    const label = key.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < key.length && key[j] !== '"'; j++) {
      if (key[j] === '\\' && j + 1 < key.length) {
        j++;
        value += key[j] === 'n' ? '\n' : key[j];
      } else {
        value += key[j];
      }
    }
    labels[label] = value;
    i = j + 1;
    if (key[i] === ',') i++;
  }
  return { name: key.slice(0, open), labels };
}
