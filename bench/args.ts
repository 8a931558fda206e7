// `npm run bench -- [--quick] [--only NAME[,NAME]] [--duration S] [--fill N] [--rounds N] [--cases ID,..] [--out FILE]`, parsed
// without touching `process` (run.ts does).

export interface RunOptions {
  quick: boolean;
  /** Scenario ids to run; empty = all. */
  only: string[];
  /** Seconds per measured load; default 4 (2 with --quick). */
  duration: number | undefined;
  /** Where the Markdown report goes; undefined = docs/benchmarks.md for a full set, none with --only. */
  out: string | undefined;
  help: boolean;
  /** Sessions stored in the server cache before the fixed-rate cases; default 100,000 (2,000 with --quick). */
  fill: number | undefined;
  /** Rounds of the fixed-rate cases (the report gives the median); default 3 (1 with --quick). */
  rounds: number | undefined;
  /** Fixed-rate case ids to run (e.g. rate-tls12-ids); empty = all. */
  cases: string[];
}

export const USAGE = `usage: npm run bench -- [--quick] [--only NAME[,NAME...]] [--duration SECONDS] [--fill N] [--rounds N] [--cases ID[,ID...]] [--out FILE]
  --quick      one rate, small fills, 1,000-connection flood (a smoke run; writes no report unless --out is given)
  --only       run these only: rate, flood, or an older closed-loop scenario (writes no report unless --out is given)
  --duration   seconds per measured load
  --fill       sessions stored in the cache before measuring (default 100000)
  --rounds     rounds of the fixed-rate cases, the report gives the median (default 3, 1 with --quick)
  --cases      fixed-rate cases to run, e.g. rate-tls12-ids,rate-tls13-stateful (default all)
  --out        write the Markdown report here`;

export function parseArgs (argv: readonly string[]): RunOptions {
  const options: RunOptions = { quick: false, only: [], duration: undefined, out: undefined, help: false, fill: undefined, rounds: undefined, cases: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new RangeError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') options.quick = true;
    else if (arg === '--only') options.only.push(...value().split(',').filter((s) => s !== ''));
    else if (arg === '--duration') {
      const d = Number(value());
      if (!(d > 0 && d <= 60)) throw new RangeError('--duration must be between 0 and 60 seconds');
      options.duration = d;
    } else if (arg === '--fill') {
      const n = Number(value());
      if (!(Number.isInteger(n) && n >= 20 && n <= 1_000_000)) throw new RangeError('--fill must be an integer from 20 to 1000000');
      options.fill = n;
    } else if (arg === '--rounds') {
      const n = Number(value());
      if (!(Number.isInteger(n) && n >= 1 && n <= 20)) throw new RangeError('--rounds must be an integer from 1 to 20');
      options.rounds = n;
    } else if (arg === '--cases') options.cases.push(...value().split(',').filter((s) => s !== ''));
    else if (arg === '--out') options.out = value();
    else if (arg === '--help' || arg === '-h') options.help = true;
    else throw new RangeError(`unknown argument ${arg}\n${USAGE}`);
  }
  return options;
}
