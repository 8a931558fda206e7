import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_BENCH_OPTIONS, formatBench, runBench, runBenchCommand } from '../../src/cli/bench/index.ts';
import type { BenchOptions, BenchResult } from '../../src/cli/bench/index.ts';
import { makeCert, startNodeServer } from './tls-peers.ts';
import type { TestCert } from './tls-peers.ts';

let cert: TestCert;
before(async () => { cert = await makeCert(); });
after(async () => { await cert.remove(); });

// Small on purpose: the test proves counting and resumption, not speed.
const small: Partial<BenchOptions> = { connections: 4, threads: 2, clients: 50 };

for (const tls of ['1.2', '1.3'] as const) {
  test(`TLS ${tls}, --resume 0.8: handshakes happen and offered sessions resume`, async (t) => {
    const server = await startNodeServer(cert, { tickets: true, sessionCache: true });
    t.after(() => server.close());
    const result = await runBench({ ...DEFAULT_BENCH_OPTIONS, ...small, port: server.port, tls, resume: 0.8, duration: tls === '1.2' ? 2 : 1 });
    assert.ok(result.handshakesPerSecond > 0, formatBench(result));
    assert.ok(result.offered > 0, formatBench(result));
    assert.ok(result.resumedPct > 90, formatBench(result));
    assert.equal(result.full + result.resumed, result.handshakes);
    assert.equal(result.latency.all.count, result.handshakes);
    assert.equal(result.latency.resumed.count, result.resumed);
    assert.ok(result.latency.all.p50 > 0 && result.latency.all.p50 <= result.latency.all.p99 && result.latency.all.p99 <= result.latency.all.max);
    assert.deepEqual(Object.keys(result.protocols), [`TLSv${tls}`]);
    assert.deepEqual(result.errors, {});
    assert.equal(result.threads, 2);
  });
}

test('TLS 1.2 without tickets resumes by session id through the server cache', async (t) => {
  const server = await startNodeServer(cert, { tickets: false, sessionCache: true });
  t.after(() => server.close());
  const result = await runBench({ ...DEFAULT_BENCH_OPTIONS, ...small, port: server.port, tls: '1.2', tickets: false, resume: 0.8, duration: 1 });
  assert.ok(result.resumedPct > 90, formatBench(result));
});

test('--resume 0 offers nothing and resumes nothing; --json is one parsable line', async (t) => {
  const server = await startNodeServer(cert, { tickets: true, sessionCache: true });
  t.after(() => server.close());
  let printed = '';
  const { exitCode, result } = await runBenchCommand(
    { ...DEFAULT_BENCH_OPTIONS, ...small, port: server.port, resume: 0, duration: 1, json: true },
    (text) => { printed += text; }
  );
  assert.equal(exitCode, 0);
  assert.equal(result.resumed, 0);
  assert.equal(result.offered, 0);
  assert.ok(result.handshakes > 0);
  assert.ok(!printed.includes('\n'));
  const parsed = JSON.parse(printed) as BenchResult;
  assert.equal(parsed.handshakes, result.handshakes);
  assert.equal(typeof parsed.latency.full.p99, 'number');
});

test('a server that cannot resume gives 0 resumed of those offered', async (t) => {
  const server = await startNodeServer(cert, { tickets: false, sessionCache: false });
  t.after(() => server.close());
  const result = await runBench({ ...DEFAULT_BENCH_OPTIONS, ...small, port: server.port, tls: '1.2', resume: 0.8, duration: 1 });
  assert.ok(result.offered > 0, formatBench(result));
  assert.equal(result.resumed, 0);
  assert.equal(result.resumedPct, 0);
});

test('--send writes after the handshake and reads the answer; --count bounds the run', async (t) => {
  const server = await startNodeServer(cert, { tickets: true, sessionCache: false });
  t.after(() => server.close());
  const result = await runBench({ ...DEFAULT_BENCH_OPTIONS, ...small, port: server.port, send: 100, count: 40, duration: 30 });
  assert.equal(result.handshakes, 40);
  assert.deepEqual(result.errors, {});
});

test('refused connections are counted by kind and the command exits 1', async (t) => {
  const server = await startNodeServer(cert, { tickets: true, sessionCache: false });
  const port = server.port;
  await server.close();
  const { exitCode, result } = await runBenchCommand({ ...DEFAULT_BENCH_OPTIONS, ...small, port, count: 20, duration: 5 }, () => {});
  assert.equal(exitCode, 1);
  assert.equal(result.handshakes, 0);
  assert.equal(result.errors.ECONNREFUSED, 20);
});

test('--rate: a fixed schedule of arrivals, a pinned group, and a pool of stored sessions offered back', async (t) => {
  const server = await startNodeServer(cert, { tickets: false, sessionCache: true });
  t.after(() => server.close());
  const base = { ...DEFAULT_BENCH_OPTIONS, ...small, port: server.port, tls: '1.2' as const, tickets: false, group: 'X25519:P-256' };
  const filled = await runBench({ ...base, resume: 0, count: 20, clients: 20, duration: 30, collectSessions: true });
  assert.equal(filled.sessions?.length, 20, formatBench(filled));
  // 40 arrivals due over 1 s at 40/s, whatever the pace of the server: each is started or dropped.
  const result = await runBench({ ...base, resume: 1, rate: 40, duration: 1, sessions: filled.sessions });
  assert.equal(result.targetRate, 40);
  assert.equal(result.attempts + result.dropped, 40, formatBench(result));
  assert.equal(result.offered, result.handshakes, formatBench(result));
  assert.equal(result.resumedPct, 100, formatBench(result));
  assert.deepEqual(Object.keys(result.groups), ['X25519']);
  assert.match(formatBench(result), /target 40\/s/);
});

test('bad options are refused before any thread starts', async () => {
  await assert.rejects(runBench({ ...DEFAULT_BENCH_OPTIONS, resume: 1.5 }), /resume must be between 0 and 1/);
  await assert.rejects(runBench({ ...DEFAULT_BENCH_OPTIONS, connections: 0 }), /connections must be/);
  await assert.rejects(runBench({ ...DEFAULT_BENCH_OPTIONS, rate: -1 }), /rate must be/);
});
