// The balance algorithms. Each is a small object holding its own state (round-robin
// positions) that picks one server among the candidates it is given; which servers are
// candidates (up, not yet tried, weight above 0) is the pool's business.
import type { BalanceAlgorithm, ServerConfig } from '../config/types.ts';

/** What an algorithm needs to know about a server. */
export interface Candidate {
  readonly config: ServerConfig;
  /** Connections open now (leastconn). */
  readonly active: number;
}

export interface Balancer {
  /** One of `candidates` (never empty), or undefined when the list is empty. */
  pick<T extends Candidate> (candidates: readonly T[], clientAddress: string): T | undefined;
}

/**
 * Smooth weighted round-robin (nginx ngx_http_upstream_get_peer): each pick adds every
 * candidate's weight to its running score, takes the highest and subtracts the total
 * from it. Weights 5,1,1 give a a b a c a a, not a a a a a b c: no bursts to one server.
 */
export class RoundRobin implements Balancer {
  #current = new Map<ServerConfig, number>();

  pick<T extends Candidate> (candidates: readonly T[]): T | undefined {
    let best: T | undefined;
    let bestScore = -Infinity;
    let total = 0;
    for (const c of candidates) {
      const score = (this.#current.get(c.config) ?? 0) + c.config.weight;
      this.#current.set(c.config, score);
      total += c.config.weight;
      if (score > bestScore) { best = c; bestScore = score; }
    }
    if (best) this.#current.set(best.config, bestScore - total);
    return best;
  }
}

/**
 * Fewest connections relative to weight (HAProxy's leastconn: a server of weight 2 takes
 * twice the connections); ties go round-robin so idle servers share new connections.
 */
export class LeastConn implements Balancer {
  #next = 0;

  pick<T extends Candidate> (candidates: readonly T[]): T | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    let best: T | undefined;
    let bestLoad = Infinity;
    // Scan from the rotating start so that, among equals, the first one met wins in turn.
    for (let i = 0; i < n; i++) {
      const c = candidates[(this.#next + i) % n];
      const load = c.active / c.config.weight;
      if (load < bestLoad) { best = c; bestLoad = load; }
    }
    this.#next = (candidates.indexOf(best!) + 1) % n;
    return best;
  }
}

/** 32-bit FNV-1a with a murmur3 finalizer, so similar addresses spread well. */
export function hash32 (text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Source-address hashing by weighted rendezvous hashing (highest random weight): each
 * server scores `-weight / ln(u)` with u uniform from hash(address, server). The same set
 * gives the same server; when a server goes down only its own clients move, the others
 * keep theirs (a modulo map would reshuffle nearly everyone).
 */
export class SourceHash implements Balancer {
  pick<T extends Candidate> (candidates: readonly T[], clientAddress: string): T | undefined {
    let best: T | undefined;
    let bestScore = -Infinity;
    for (const c of candidates) {
      const u = (hash32(`${clientAddress}\u0000${c.config.name}`) + 0.5) / 0x1_0000_0000;
      const score = -c.config.weight / Math.log(u);
      if (score > bestScore) { best = c; bestScore = score; }
    }
    return best;
  }
}

export function createBalancer (algorithm: BalanceAlgorithm): Balancer {
  switch (algorithm) {
    case 'roundrobin': return new RoundRobin();
    case 'leastconn': return new LeastConn();
    case 'source': return new SourceHash();
  }
}
