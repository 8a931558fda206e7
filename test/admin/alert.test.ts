// The resumption alert's decision function: when it warns, what cause it names, how
// often it repeats, when it says the ratio recovered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideAlert, likelyCause, DEFAULT_ALERT_OPTIONS, type AlertInput, type AlertState } from '../../src/admin/alert.ts';

const base: AlertInput = { frontend: 'https', threshold: 0.5, full: 0, resumed: 0, misses: {}, evictions: 0, expired: 0, spanMs: 60_000 };
const input = (o: Partial<AlertInput>): AlertInput => ({ ...base, ...o });
const calm: AlertState = { below: false };
const T = 1_000_000;

test('cache too small: misses on evicted sessions name evictions and session_cache.size', () => {
  const d = decideAlert(calm, input({ full: 50, resumed: 5, misses: { unknown: 45 }, evictions: 120 }), T);
  assert.equal(d.state.below, true);
  assert.equal(d.state.cause, 'evictions');
  assert.equal(d.log?.level, 'warn');
  assert.match(d.log!.msg, /cache too small \(120 evictions/);
  assert.match(d.log!.msg, /raise session_cache\.size/);
  assert.equal(d.log!.fields.cause, 'evictions');
});

test('sessions that expire name the lifetime', () => {
  const d = decideAlert(calm, input({ full: 40, resumed: 2, misses: { expired: 30, unknown: 5 }, expired: 30 }), T);
  assert.equal(d.state.cause, 'expired');
  assert.match(d.log!.msg, /lifetime too short/);
  assert.match(d.log!.msg, /session_cache\.lifetime/);
});

test('clients that offer nothing: "clients do not offer resumption"', () => {
  const d = decideAlert(calm, input({ full: 100, resumed: 0, misses: {} }), T);
  assert.equal(d.state.below, true);
  assert.equal(d.state.cause, 'no_offer');
  assert.match(d.log!.msg, /clients do not offer resumption \(0 of 100/);
  assert.match(d.log!.msg, /all clients/);
});

test('the other causes: Redis, ticket keys, SNI, OpenSSL refusals, not found', () => {
  const cause = (misses: Record<string, number>, evictions = 0): string => likelyCause(input({ full: 30, resumed: 0, misses, evictions })).cause;
  assert.equal(cause({ store_timeout: 20, store_error: 10 }), 'redis');
  assert.equal(cause({ unknown_ticket_key: 25 }), 'ticket_keys');
  assert.equal(cause({ wrong_sni: 25 }), 'wrong_sni');
  assert.equal(cause({ ticket_rejected: 25 }), 'rejected');
  assert.equal(cause({ unknown: 25 }), 'not_found');
  assert.equal(cause({ unknown: 25 }, 3), 'evictions');
  assert.match(likelyCause(input({ misses: { store_timeout: 30 } })).advice, /Redis tier errors\/timeouts/);
  assert.match(likelyCause(input({ misses: { unknown_ticket_key: 30 } })).advice, /ticket keys not shared or rotated out/);
});

test('no decision on too few handshakes, a short window, or a zero threshold', () => {
  assert.deepEqual(decideAlert(calm, input({ full: 10, misses: { unknown: 10 } }), T).state, calm);
  assert.equal(decideAlert(calm, input({ full: 100, spanMs: 30_000 }), T).log, undefined);
  assert.equal(decideAlert(calm, input({ full: 100, threshold: 0 }), T).log, undefined);
  const below: AlertState = { below: true, since: T, lastWarned: T, cause: 'evictions' };
  assert.equal(decideAlert(below, input({ full: 3 }), T + 1000).state, below, 'a quiet minute keeps the state');
});

test('a healthy ratio logs nothing; the returning-client ratio ignores first-time clients', () => {
  // 1000 new clients (full, nothing offered) and 30 returning ones that all resumed.
  const d = decideAlert(calm, input({ full: 1000, resumed: 30 }), T);
  assert.equal(d.state.below, false);
  assert.equal(d.log, undefined);
  assert.equal(d.state.ratio, 1);
});

test('one warning, repeated at most every repeatMs while it lasts, then one info on recovery', () => {
  const bad = input({ full: 50, resumed: 5, misses: { unknown: 45 }, evictions: 9 });
  const first = decideAlert(calm, bad, T);
  assert.equal(first.log?.level, 'warn');
  const second = decideAlert(first.state, bad, T + 1000);
  assert.equal(second.log, undefined);
  assert.equal(second.state.since, T);
  const later = decideAlert(second.state, bad, T + DEFAULT_ALERT_OPTIONS.repeatMs);
  assert.equal(later.log?.level, 'warn');
  const ok = decideAlert(later.state, input({ full: 5, resumed: 45, misses: { unknown: 5 } }), T + DEFAULT_ALERT_OPTIONS.repeatMs + 1000);
  assert.equal(ok.state.below, false);
  assert.equal(ok.log?.level, 'info');
  assert.match(ok.log!.msg, /recovered to 90%/);
});
