// Gives memory back after a flood of connections. A TLS connection's native memory (the
// OpenSSL object, Node's TLS buffers: tens of kB, far more than its JS objects) is freed
// only when V8 collects the JS socket that owns it. After a flood the JS heap is small
// and quiet, so V8 sees no reason to collect, and hundreds of MB of native memory stay
// held by dead sockets (10,000 stalled handshakes: +400 MB that never came back). So
// when a thread's open connections fall far below their recent peak, it asks V8 for one
// full collection. What the allocator then returns to the system is its business: glibc
// keeps most of it in its arenas, jemalloc returns it within seconds (docs/operations.md).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A flood worth a collection: at least this many connections at the peak... */
export const FLOOD_PEAK = 1000;
/** ...and now at most this share of the peak. */
export const FLOOD_DROP = 0.25;

let collect: (() => void) | undefined;

/** V8's full collection. `--expose-gc` is process-wide and only exposes `gc` in contexts made after it. */
function fullCollection (): () => void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  return collect;
}

export class FloodWatch {
  #peak = 0;
  #collect: () => void;

  constructor (collectGarbage: () => void = () => fullCollection()()) {
    this.#collect = collectGarbage;
  }

  /** Called with the open connections every second or so; true when it collected. */
  sample (open: number): boolean {
    this.#peak = Math.max(this.#peak, open);
    if (this.#peak < FLOOD_PEAK || open > this.#peak * FLOOD_DROP) return false;
    // One collection per flood: the next needs a new peak.
    this.#peak = 0;
    this.#collect();
    return true;
  }
}
