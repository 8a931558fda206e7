// What every scenario is handed by bench/run.ts, and what it hands back to the report.
import type { Row } from './measure.ts';
import type { ServerKind } from './servers/index.ts';

export interface CertPair { cert: string; key: string }

export interface BenchContext {
  quick: boolean;
  /** Temporary directory for configs, removed at the end. */
  root: string;
  certs: { ec: CertPair; rsa: CertPair };
  backendPort: number;
  /** taskset lists: the server's core, the load generator's core, both. */
  serverCpus: string;
  clientCpus: string;
  allCpus: string;
  /** Seconds of each measured load. */
  duration: number;
  /** Peers that can run here. */
  servers: readonly ServerKind[];
  /** URL of a redis-server shared by the scenarios that need one; undefined = not installed. */
  redis (): Promise<string | undefined>;
  /** Hex key file for warmshake's Redis tier (32 bytes, mode 0600). */
  redisKeyFile: string;
  /** PID of that redis-server, once started. */
  redisPid (): number | undefined;
}

export interface Column {
  /** A Row field, or `extra.NAME`. */
  key: string;
  title: string;
}

/** warmshake's figure over the best anchor's (HAProxy or nginx) for one column. */
export interface RatioSpec {
  key: string;
  lowerIsBetter: boolean;
  title: string;
  /** The warmshake row to compare (default: `warmshake`, else the first warmshake variant). */
  server?: string;
}

export interface ScenarioReport {
  id: string;
  title: string;
  /** How it was run: the settings every server shared. */
  setup: string;
  columns: Column[];
  rows: Row[];
  ratios: RatioSpec[];
  /** Compute ratios within rows sharing this column's value (e.g. one cache size). */
  groupBy?: string;
  notes: string[];
}

export interface Scenario {
  id: string;
  title: string;
  run (ctx: BenchContext, index: number): Promise<ScenarioReport>;
}

/** The peers in a different order for each scenario, so drift (thermal, other load) is not always charged to the same one. */
export function alternate<T> (items: readonly T[], index: number): T[] {
  const n = items.length;
  const rotated = items.map((_, i) => items[(i + index) % n]);
  return index % 2 === 1 ? rotated.reverse() : rotated;
}
