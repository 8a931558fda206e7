// One behaviour suite for every ticket-key origin (the key file, Redis, this process
// alone), as test/session-cache/conformance.ts is for the stores: what TicketRotation
// relies on, whatever the ring is kept in.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TICKET_KEY_BYTES, ticketKeyName, type TicketKey, type TicketKeyOrigin } from '../../src/tls/ticket-key.ts';

export interface OriginPlace {
  origin: TicketKeyOrigin;
  /** A second origin on the same ring (another node), when the ring is shared. */
  peer?: TicketKeyOrigin;
  /** What an operator does before `rotate keys` (the file: write a new key in front). */
  operatorRotates?: () => void;
}

export interface OriginSuite {
  /** The origin adds a key itself once the newest is older than `rotateEvery` (the file never does). */
  rotatesByItself: boolean;
  skip?: string | false;
}

type Make = (t: TestContext, options: { keep: number; rotateEvery: number }) => Promise<OriginPlace>;

const KEEP = 2;
const HOUR = 3_600_000;
/** Short enough to pass quickly; the test sleeps longer than this, so the key is surely stale. */
const SHORT = 20;

const names = (keys: readonly TicketKey[] | undefined): string[] => (keys ?? []).map((k) => ticketKeyName(k).toString('hex'));

export function ticketKeyOriginConformance (name: string, make: Make, suite: OriginSuite): void {
  const skip = suite.skip ?? false;

  test(`${name}: the first refresh gives distinct 48-byte keys, at most keep + 1`, { skip }, async (t) => {
    const { origin } = await make(t, { keep: KEEP, rotateEvery: HOUR });
    const ring = await origin.refresh([], false);
    assert.ok(ring && ring.length >= 1 && ring.length <= KEEP + 1, `ring of ${ring?.length}`);
    for (const key of ring) {
      assert.equal(key.bytes.length, TICKET_KEY_BYTES);
      assert.ok(Number.isFinite(key.created));
    }
    assert.equal(new Set(names(ring)).size, ring.length, 'no key twice');
  });

  test(`${name}: refreshed again before rotate_every, the encrypting key stays`, { skip }, async (t) => {
    const { origin } = await make(t, { keep: KEEP, rotateEvery: HOUR });
    const ring = await origin.refresh([], false);
    const again = await origin.refresh(ring!, false);
    if (again !== undefined) assert.deepEqual(names(again), names(ring));
  });

  test(`${name}: rotate puts a new key in front and keeps the previous ones behind it, at most keep + 1`, { skip }, async (t) => {
    const place = await make(t, { keep: KEEP, rotateEvery: HOUR });
    let ring = (await place.origin.refresh([], false))!;
    for (let i = 0; i < KEEP + 2; i++) {
      place.operatorRotates?.();
      const next = await place.origin.refresh(ring, true);
      assert.ok(next, 'a ring after rotate');
      assert.ok(!names(ring).includes(names(next)[0]!), 'the encrypting key is new');
      // Tickets under the previous keys still open: they follow, newest first.
      assert.deepEqual(names(next).slice(1), names(ring).slice(0, KEEP));
      assert.ok(next.length <= KEEP + 1, `ring of ${next.length}`);
      ring = next;
    }
    assert.equal(ring.length, KEEP + 1);
  });

  test(`${name}: the newest key past rotate_every ${suite.rotatesByItself ? 'is replaced at the next refresh' : 'stays: the operator rotates'}`, { skip }, async (t) => {
    const { origin } = await make(t, { keep: KEEP, rotateEvery: SHORT });
    const ring = (await origin.refresh([], false))!;
    await sleep(SHORT * 3);
    const next = await origin.refresh(ring, false);
    if (suite.rotatesByItself) {
      assert.ok(next && !names(ring).includes(names(next)[0]!), 'a new encrypting key');
      assert.deepEqual(names(next).slice(1), names(ring).slice(0, KEEP));
    } else if (next !== undefined) {
      assert.deepEqual(names(next), names(ring));
    }
  });

  test(`${name}: another node refreshing the same ring serves the same keys`, { skip }, async (t) => {
    const place = await make(t, { keep: KEEP, rotateEvery: HOUR });
    if (!place.peer) { t.skip('this origin is not shared'); return; }
    const ring = (await place.origin.refresh([], false))!;
    place.operatorRotates?.();
    const rotated = (await place.origin.refresh(ring, true))!;
    const seen = await place.peer.refresh([], false);
    assert.deepEqual(names(seen), names(rotated));
  });
}
