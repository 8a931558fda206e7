// /metrics from the shared counters: families grouped with HELP/TYPE, per-bucket counts
// made cumulative, the Redis tier's numbers (published by the workers) alongside the
// shared tier's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCommand } from '../../src/admin/commands.ts';
import { renderMetrics } from '../../src/admin/metrics.ts';
import { PUBLISHED } from '../../src/admin/published.ts';
import { metricKey } from '../../src/runtime/counters.ts';
import { parseInfo } from './helpers.ts';
import { lightContext } from './light.ts';
import { parsePrometheus, sumOf } from './prom-parser.ts';

test('Redis tier counters, latency histogram and breaker state appear in /metrics and show info', async (t) => {
  const { ctx, source } = await lightContext(t, {
    session_cache: { redis: { url: 'redis://:secret@127.0.0.1:6379/0', key_file: ['cache.key'] } },
  });
  const c = source.counters;
  c.add(metricKey(PUBLISHED.cacheLookups, { tier: 'redis', result: 'hit' }), 7);
  c.add(metricKey(PUBLISHED.cacheLookups, { tier: 'redis', result: 'miss' }), 2);
  c.add(metricKey(PUBLISHED.cacheLookups, { tier: 'redis', result: 'error' }), 1);
  c.add(PUBLISHED.redisTimeouts, 1);
  c.set(metricKey(PUBLISHED.redisBreaker, { worker: '0' }), 0);
  c.set(metricKey(PUBLISHED.redisBreaker, { worker: '1' }), 2);
  c.add(metricKey(PUBLISHED.redisLatencyBucket, { le: '0.001' }), 6);
  c.add(metricKey(PUBLISHED.redisLatencyBucket, { le: '0.05' }), 3);
  c.add(metricKey(PUBLISHED.redisLatencyBucket, { le: '+Inf' }), 1);
  c.add(PUBLISHED.redisLatencySum, 10 * 900);
  c.add(metricKey('warmshake_handshake_duration_seconds_bucket', { frontend: 'https', result: 'full', le: '0.01' }), 2);
  c.add(metricKey('warmshake_handshake_duration_seconds_microseconds_sum', { frontend: 'https', result: 'full' }), 0);
  c.add(metricKey('warmshake_something_new_total', { frontend: 'https' }), 5);

  const m = parsePrometheus(renderMetrics(ctx));
  assert.equal(sumOf(m, 'warmshake_session_cache_lookups_total', { tier: 'redis' }), 10);
  assert.equal(sumOf(m, 'warmshake_session_cache_lookups_total', { tier: 'redis', result: 'hit' }), 7);
  assert.ok(m.get('warmshake_session_cache_lookups_total')!.samples.some((s) => s.labels.tier === 'shared'));
  const latency = m.get('warmshake_session_cache_redis_latency_seconds');
  assert.equal(latency?.type, 'histogram');
  assert.equal(sumOf(m, 'warmshake_session_cache_redis_latency_seconds_bucket', { le: '0.001' }), 6);
  assert.equal(sumOf(m, 'warmshake_session_cache_redis_latency_seconds_bucket', { le: '0.05' }), 9);
  assert.equal(sumOf(m, 'warmshake_session_cache_redis_latency_seconds_count'), 10);
  assert.equal(sumOf(m, 'warmshake_session_cache_redis_latency_seconds_sum'), 0.009);
  assert.equal(m.get('warmshake_session_cache_redis_breaker_state')?.type, 'gauge');
  assert.equal(m.get('warmshake_something_new_total')?.type, 'counter');

  const info = parseInfo(await runCommand('show info', ctx));
  assert.equal(info.get('SslCacheRedisLookups'), '10');
  assert.equal(info.get('SslCacheRedisErrors'), '1');
  assert.equal(info.get('SslCacheRedisBreaker'), 'open');
  const stats = (await import('../../src/admin/stats.ts')).buildStats(ctx);
  assert.equal(stats.redis?.breaker, 'open');
  assert.equal(stats.redis?.target.includes('secret'), false, 'no password on the page');
});
