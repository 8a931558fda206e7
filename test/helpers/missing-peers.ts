// Every "peer missing" skip goes through here, so none can hide. A test that needs a
// real peer (redis-server, chromium, haproxy...) is always registered: skipped with the
// reason and the Debian package when the peer is absent, and with
// WARMSHAKE_REQUIRE_PEERS=1 (CI sets it) the absence is a failure instead.
//
// Presence is a PATH lookup, never a `--version` run: on a busy machine `testssl
// --version` takes 12-19 s, and a slow peer is not a missing one.
import { test, type TestContext } from 'node:test';
import { which } from '../../bench/which.ts';

/** Each peer the suite runs, and the Debian package that has it (.ci/run installs them all). */
export const PEER_PACKAGES = Object.freeze({
  openssl: 'openssl',
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  python3: 'python3',
  curl: 'curl',
  socat: 'socat',
  logger: 'bsdutils',
  chromium: 'chromium',
  testssl: 'testssl.sh',
  haproxy: 'haproxy',
  nginx: 'nginx',
  'gnutls-cli': 'gnutls-bin',
});

export type Peer = keyof typeof PEER_PACKAGES;

export const REQUIRE_PEERS_VARIABLE = 'WARMSHAKE_REQUIRE_PEERS';

/** True when a missing peer must fail the run (CI), not skip. */
export const peersRequired = (): boolean => process.env[REQUIRE_PEERS_VARIABLE] === '1';

/** Where `command` is on PATH (an executable file), or undefined. */
export const peerPath = which;

/** Why these peers cannot run here (names and Debian packages), or undefined when all are on PATH. */
export function missingPeers (...peers: Peer[]): string | undefined {
  const missing = peers.filter((p) => peerPath(p) === undefined);
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.map((p) => PEER_PACKAGES[p]))].join(' ');
  return `${missing.join(', ')} not on PATH (apt-get install ${packages})`;
}

const reported = new Set<string>();

/**
 * For a test's `skip` option: false when every peer is there, else the reason. With
 * WARMSHAKE_REQUIRE_PEERS=1 the reason also becomes one failing test per missing peer
 * set in this file, so the run fails and says what to install.
 */
export function skipWithout (...peers: Peer[]): string | false {
  return skipBecause(missingPeers(...peers));
}

/**
 * The same for what is not a command on PATH (the native addon, which needs the C
 * toolchain at `npm ci`): `reason` says why it cannot run, undefined when it can.
 */
export function skipBecause (reason: string | undefined): string | false {
  if (reason === undefined) return false;
  if (peersRequired() && !reported.has(reason)) {
    reported.add(reason);
    test(`required peer: ${reason}`, () => {
      throw new Error(`${REQUIRE_PEERS_VARIABLE}=1 and ${reason}: the tests that need it cannot run`);
    });
  }
  return `${reason}; skipped`;
}

/** Inside a running test: skips it (or fails it with WARMSHAKE_REQUIRE_PEERS=1) when a peer is missing; true when it may go on. */
export function requirePeers (t: TestContext, ...peers: Peer[]): boolean {
  const reason = missingPeers(...peers);
  if (reason === undefined) return true;
  if (peersRequired()) throw new Error(`${REQUIRE_PEERS_VARIABLE}=1 and ${reason}`);
  t.skip(`${reason}; skipped`);
  return false;
}

/** For the `skip` option of a test that starts Redis (bench/redis-server.ts). */
export const redisSkipReason = (): string | false => skipWithout('redis-server', 'redis-cli');
