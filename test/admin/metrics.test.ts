// /metrics from the shared counters: families grouped with HELP/TYPE, per-bucket counts
// made cumulative, unknown series still exposed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCommand } from '../../src/admin/commands.ts';
import { renderMetrics } from '../../src/admin/metrics.ts';
import { metricKey } from '../../src/runtime/counters.ts';
import { parseInfo } from './helpers.ts';
import { lightContext } from './light.ts';
import { parsePrometheus, sumOf } from './prom-parser.ts';

test('/metrics groups families, makes per-bucket counts cumulative and exposes unknown series; the page hides the Redis password', async (t) => {
  // The Redis tier's own series are asserted end to end against a real redis-server in
  // test/e2e/redis-tier-admin.test.ts; here nothing pretends to be a worker for them.
  const { ctx, source } = await lightContext(t, {
    session_cache: { redis: { url: 'redis://:secret@127.0.0.1:6379/0', key_file: ['cache.key'] } },
  });
  const c = source.counters;
  c.add(metricKey('warmshake_handshake_duration_seconds_bucket', { frontend: 'https', result: 'full', le: '0.01' }), 2);
  c.add(metricKey('warmshake_handshake_duration_seconds_bucket', { frontend: 'https', result: 'full', le: '0.1' }), 1);
  c.add(metricKey('warmshake_handshake_duration_microseconds_sum', { frontend: 'https', result: 'full' }), 30_000);
  c.add(metricKey('warmshake_something_new_total', { frontend: 'https' }), 5);

  const m = parsePrometheus(renderMetrics(ctx));
  assert.equal(m.get('warmshake_handshake_duration_seconds')?.type, 'histogram');
  assert.equal(sumOf(m, 'warmshake_handshake_duration_seconds_bucket', { le: '0.01' }), 2);
  assert.equal(sumOf(m, 'warmshake_handshake_duration_seconds_bucket', { le: '0.1' }), 3);
  assert.equal(sumOf(m, 'warmshake_handshake_duration_seconds_count'), 3);
  assert.equal(sumOf(m, 'warmshake_handshake_duration_seconds_sum'), 0.03);
  assert.ok(m.get('warmshake_session_cache_lookups_total')!.samples.some((s) => s.labels.tier === 'shared'));
  assert.equal(m.get('warmshake_something_new_total')?.type, 'counter');

  // Before any worker published, the Redis lines say so rather than inventing numbers.
  const info = parseInfo(await runCommand('show info', ctx));
  assert.equal(info.get('SslCacheRedisLookups'), '0');
  assert.equal(info.get('SslCacheRedisBreaker'), 'unknown');
  const stats = (await import('../../src/admin/stats.ts')).buildStats(ctx);
  assert.equal(stats.redis?.target.includes('secret'), false, 'no password on the page');
});
