// `show info` and `/metrics` on a real Supervisor after a scripted set of handshakes:
// exact counts, and the two agree.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, handshake, parseInfo, startHarness } from './helpers.ts';
import { parsePrometheus, sumOf } from './prom-parser.ts';

test('show info and /metrics count 3 full and 4 resumed TLS 1.2 handshakes exactly', async (t) => {
  const h = await startHarness(t);
  const first = await handshake(h.port);
  assert.equal(first.resumed, false);
  for (let i = 0; i < 2; i++) assert.equal((await handshake(h.port)).resumed, false);
  for (let i = 0; i < 4; i++) assert.equal((await handshake(h.port, first.session)).resumed, true);

  const info = await eventually(async () => {
    const i = parseInfo(await h.command('show info'));
    return i.get('SslFullHandshakes') === '3' && i.get('SslResumedHandshakes') === '4' ? i : undefined;
  }, 'show info reaching 3 full + 4 resumed');
  assert.equal(info.get('Name'), 'warmshake');
  assert.equal(info.get('CumSslConns'), '7');
  assert.equal(info.get('SslFrontendSessionReuse_pct'), String(Math.round(4 / 7 * 1000) / 10));
  assert.equal(info.get('Nbthread'), '1');
  assert.equal(info.get('TicketKeySource'), 'local');
  assert.equal(Number(info.get('TicketKeys')) >= 1, true);
  for (const k of ['SslCacheLookups', 'SslCacheMisses', 'SslCacheEntries', 'SslCacheSize', 'SslCacheEvictions', 'SslCacheBytes', 'Uptime_sec', 'Pid']) {
    assert.ok(info.has(k), `show info has ${k}`);
  }
  assert.equal(info.get('SslCacheSize'), '1000');

  const res = await h.get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.type, /^text\/plain; version=0\.0\.4/);
  const m = parsePrometheus(res.body);
  assert.equal(m.get('warmshake_handshakes_total')?.type, 'counter');
  assert.equal(sumOf(m, 'warmshake_handshakes_total', { result: 'full' }), 3);
  assert.equal(sumOf(m, 'warmshake_handshakes_total', { result: 'resumed' }), 4);
  assert.equal(sumOf(m, 'warmshake_handshakes_total', { version: 'TLSv1.2' }), 7);
  // Agrees with show info, read after it (the cache counters do not move with no traffic).
  const again = parseInfo(await h.command('show info'));
  assert.equal(sumOf(m, 'warmshake_session_cache_lookups_total', { tier: 'shared' }), Number(again.get('SslCacheLookups')));
  assert.equal(sumOf(m, 'warmshake_session_cache_lookups_total', { tier: 'shared', result: 'miss' }), Number(again.get('SslCacheMisses')));
  assert.equal(sumOf(m, 'warmshake_session_cache_entries'), Number(again.get('SslCacheEntries')));
  assert.equal(sumOf(m, 'warmshake_session_cache_evictions_total'), Number(again.get('SslCacheEvictions')));
  assert.equal(sumOf(m, 'warmshake_session_cache_capacity'), 1000);
  const hist = m.get('warmshake_handshake_duration_seconds');
  assert.equal(hist?.type, 'histogram');
  assert.equal(sumOf(m, 'warmshake_handshake_duration_seconds_count'), 7);
  assert.equal(sumOf(m, 'warmshake_handshake_duration_seconds_bucket', { le: '+Inf', result: 'resumed' }), 4);
  assert.ok(sumOf(m, 'warmshake_handshake_duration_seconds_sum') > 0);
  assert.equal(sumOf(m, 'warmshake_workers', { state: 'running' }), 1);
  assert.equal(sumOf(m, 'warmshake_ticket_keys'), Number(again.get('TicketKeys')));
  assert.ok(m.has('warmshake_ticket_key_age_seconds'));

  const health = await h.get('/healthz');
  assert.equal(health.status, 200);
  assert.equal(health.body.trim(), 'ok');
  assert.equal((await h.get('/nope')).status, 404);
});
