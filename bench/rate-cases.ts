// The fixed-rate comparisons of issue 11: what each case offers, on which server
// instance, and at which rates. Every server gets the same arrivals per second (open
// loop), so CPU per handshake is compared at equal load: on these VMs it falls as the
// rate rises (fixed costs spread over more handshakes), so a closed-loop run, where
// each server sets its own pace, compares different rates.
import type { LoadOptions } from './measure.ts';

/**
 * Three instances per server, each filled once and measured for several cases:
 * - `cache`: tickets off, 1 worker, the session cache populated first (TLS 1.2 ids
 *   and TLS 1.3 stateful sessions), returning clients drawn at random from it;
 * - `tickets`: tickets on, 1 worker: tickets (TLS 1.2 and 1.3) and full handshakes;
 * - `workers2`: as `cache` with 2 workers, warmshake only (its target is against itself).
 */
export type Instance = 'cache' | 'tickets' | 'workers2';

/** Session pools, filled once per instance: returning clients are drawn from these. */
export type Pool = 'ids12' | 'stateful13' | 'tickets12' | 'tickets13';

export interface RateCase {
  id: string;
  title: string;
  instance: Instance;
  /** Sessions offered come from this pool; undefined = full handshakes. */
  pool?: Pool;
  load: Omit<LoadOptions, 'duration'>;
  rates: number[];
  /** Shown with the table. */
  setup: string;
}

/** Offered first and pinned for every server; P-256 is listed too because a TLS 1.2 ECDSA P-256 certificate needs it in supported_groups, but X25519 carries the key share. */
export const X25519 = 'X25519:P-256';

export const RATES = { resumed: [200, 500], full: [200, 400] };
export const QUICK_RATES = { resumed: [200], full: [200] };

/** Rates are lowered for --quick. */
export function rateCases (quick: boolean): RateCase[] {
  const r = quick ? QUICK_RATES : RATES;
  const hybridRate = r.resumed[r.resumed.length - 1];
  return [
    {
      id: 'rate-tls12-ids', title: 'TLS 1.2 resumed by session id', instance: 'cache', pool: 'ids12',
      load: { tls: '1.2', tickets: false, resume: 1, group: X25519 }, rates: r.resumed,
      setup: 'server tickets off; clients without the ticket extension, each offering a session drawn at random from the populated cache'
    },
    {
      id: 'rate-tls13-stateful', title: 'TLS 1.3 resumed by stateful ticket (server tickets off), X25519', instance: 'cache', pool: 'stateful13',
      load: { tls: '1.3', tickets: true, resume: 1, group: X25519 }, rates: r.resumed,
      setup: 'server tickets off (TLS 1.3 tickets are then ids into the server cache); sessions drawn at random from the TLS 1.3 part of the populated cache'
    },
    {
      id: 'rate-tls12-tickets', title: 'TLS 1.2 resumed by ticket', instance: 'tickets', pool: 'tickets12',
      load: { tls: '1.2', tickets: true, resume: 1, group: X25519 }, rates: r.resumed,
      setup: 'server tickets on; each client offers a ticket drawn at random from the ticket pool'
    },
    {
      id: 'rate-tls13-tickets', title: 'TLS 1.3 resumed by ticket, X25519', instance: 'tickets', pool: 'tickets13',
      load: { tls: '1.3', tickets: true, resume: 1, group: X25519 }, rates: r.resumed,
      setup: 'server tickets on; key exchange pinned to X25519 (psk_dhe_ke) for every server'
    },
    {
      id: 'rate-tls13-tickets-hybrid', title: 'TLS 1.3 resumed by ticket, client\'s default groups (hybrid X25519MLKEM768 first)', instance: 'tickets', pool: 'tickets13',
      load: { tls: '1.3', tickets: true, resume: 1 }, rates: [hybridRate],
      setup: 'as above, but the client offers Node 24\'s default group list, X25519MLKEM768 first: servers on Node\'s OpenSSL 3.5 take the hybrid group, HAProxy and nginx (OpenSSL 3.0) fall back to X25519 — the `group` column says which; not a like-for-like row'
    },
    {
      id: 'rate-tls12-full', title: 'TLS 1.2 full handshakes (ECDSA P-256), X25519', instance: 'tickets',
      load: { tls: '1.2', tickets: true, resume: 0, group: X25519 }, rates: r.full,
      setup: 'server tickets on, client with the ticket extension, no session offered'
    },
    {
      id: 'rate-tls12-ids-2-workers', title: 'TLS 1.2 resumed by session id, 2 workers', instance: 'workers2', pool: 'ids12',
      load: { tls: '1.2', tickets: false, resume: 1, group: X25519 }, rates: r.resumed,
      setup: 'as `rate-tls12-ids` with 2 workers pinned to both cores (the load generator shares core 1); warmshake engines only, since the target compares each engine with its own 1-worker row, and with a smaller fill (see the fills) to keep the run short'
    }
  ];
}
