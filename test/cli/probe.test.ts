import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PROBE_OPTIONS, runProbe } from '../../src/cli/probe.ts';
import type { ProbeOptions } from '../../src/cli/probe.ts';
import { summarizeSession } from '../../src/cli/session-der.ts';
import { makeCert, startNodeServer, startOpensslServer } from './tls-peers.ts';
import type { TestCert } from './tls-peers.ts';

let cert: TestCert;
before(async () => { cert = await makeCert(); });
after(async () => { await cert.remove(); });

async function probe (port: number, options: Partial<ProbeOptions>): Promise<{ exitCode: number; lines: string[]; result: Awaited<ReturnType<typeof runProbe>>['result'] }> {
  const lines: string[] = [];
  const { exitCode, result } = await runProbe({ ...DEFAULT_PROBE_OPTIONS, port, count: 4, ...options }, (line) => lines.push(line));
  return { exitCode, lines, result };
}

for (const tls of ['1.2', '1.3'] as const) {
  test(`node server with tickets: TLS ${tls} resumes, exit 0, tickets shown`, async (t) => {
    const server = await startNodeServer(cert, { tickets: true, sessionCache: false });
    t.after(() => server.close());
    const { exitCode, result, lines } = await probe(server.port, { tls });
    assert.equal(exitCode, 0, lines.join('\n'));
    assert.equal(result.resumed, 3);
    assert.equal(result.connections[0].resumed, false);
    assert.equal(result.connections[0].protocol, `TLSv${tls}`);
    assert.ok(result.connections[0].ticket !== undefined && result.connections[0].ticket.length > 16);
    assert.match(lines.at(-1) ?? '', /^3 of 3 reconnections resumed$/);
  });
}

test('node server, tickets off, session-id cache: TLS 1.2 without tickets resumes by id', async (t) => {
  const server = await startNodeServer(cert, { tickets: false, sessionCache: true });
  t.after(() => server.close());
  const { exitCode, result } = await probe(server.port, { tls: '1.2', tickets: false });
  assert.equal(exitCode, 0);
  const ids = new Set(result.connections.map((c) => c.sessionId));
  assert.equal(ids.size, 1, 'one session id, reused');
  assert.match([...ids][0] ?? '', /^[0-9a-f]{64}$/);
  assert.equal(result.connections[0].ticket, undefined);
});

test('node server, tickets off, no cache: TLS 1.2 cannot resume, exit 1', async (t) => {
  const server = await startNodeServer(cert, { tickets: false, sessionCache: false });
  t.after(() => server.close());
  const { exitCode, result, lines } = await probe(server.port, { tls: '1.2' });
  assert.equal(exitCode, 1);
  assert.equal(result.resumed, 0);
  assert.ok(lines.some((line) => line.includes('MISSED')));
});

test('node server, tickets off, session-id cache: TLS 1.3 stateful tickets do not resume in plain Node (nodejs/node#60847)', async (t) => {
  const server = await startNodeServer(cert, { tickets: false, sessionCache: true });
  t.after(() => server.close());
  const { exitCode, result } = await probe(server.port, { tls: '1.3', tickets: false });
  assert.equal(exitCode, 1);
  assert.equal(result.resumed, 0);
  assert.ok(result.notes.some((note) => note.includes('cannot refuse tickets')));
});

for (const [name, extra, expected] of [
  ['tickets', [], 0],
  ['-no_ticket (session cache, stateful TLS 1.3 tickets)', ['-no_ticket'], 0],
  ['-no_cache -no_ticket', ['-no_cache', '-no_ticket'], 1]
] as const) {
  for (const tls of ['1.2', '1.3'] as const) {
    test(`openssl s_server -www ${name}: TLS ${tls} exit ${expected}`, async (t) => {
      const server = await startOpensslServer(cert, [...extra]);
      t.after(() => server.close());
      const { exitCode, result, lines } = await probe(server.port, { tls, servername: 'localhost' });
      assert.equal(exitCode, expected, lines.join('\n'));
      assert.equal(result.resumed, expected === 0 ? 3 : 0);
      assert.ok(result.connections.every((c) => c.ok && c.protocol === `TLSv${tls}`));
    });
  }
}

test('--json prints one parsable line', async (t) => {
  const server = await startNodeServer(cert, { tickets: true, sessionCache: false });
  t.after(() => server.close());
  const { lines, exitCode } = await probe(server.port, { json: true, count: 2 });
  assert.equal(exitCode, 0);
  assert.equal(lines.length, 1);
  const parsed = JSON.parse(lines[0]) as { allResumed: boolean; connections: { handshakeMs: number }[] };
  assert.equal(parsed.allResumed, true);
  assert.equal(parsed.connections.length, 2);
  assert.ok(parsed.connections.every((c) => typeof c.handshakeMs === 'number'));
});

test('a refused connection is an error and exit 1', async (t) => {
  const server = await startNodeServer(cert, { tickets: true, sessionCache: false });
  const port = server.port;
  await server.close();
  const { exitCode, result } = await probe(port, { count: 2 });
  assert.equal(exitCode, 1);
  assert.match(result.connections[0].error ?? '', /^ECONNREFUSED/);
});

test('summarizeSession survives garbage', () => {
  assert.deepEqual(summarizeSession(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])), { sessionId: undefined, ticket: undefined, ticketLifetimeHint: undefined });
  assert.deepEqual(summarizeSession(Buffer.alloc(0)), { sessionId: undefined, ticket: undefined, ticketLifetimeHint: undefined });
});
