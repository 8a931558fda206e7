import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../src/config/duration.ts';
import { cidrContains, parseCidr, addressBytes } from '../../src/config/cidr.ts';
import { validateConfig } from '../../src/config/schema.ts';

const minimal = () => ({
  frontends: [{ name: 'https', bind: '127.0.0.1:8443', certificates: [{ cert: 'c.pem', key: 'k.pem' }], backend: 'app' }],
  backends: [{ name: 'app', servers: [{ name: 's1', address: '127.0.0.1:8080' }] }],
});

test('durations: units, bare seconds, combinations', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('12h'), 43_200_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('50ms'), 50);
  assert.equal(parseDuration(1800), 1_800_000);
  assert.equal(parseDuration('1800'), 1_800_000);
  assert.equal(parseDuration('12x'), undefined);
  assert.equal(parseDuration('-1'), undefined);
});

test('CIDR lists: IPv4, IPv6, mapped addresses', () => {
  const net = parseCidr('10.0.0.0/8')!;
  assert.ok(cidrContains(net, addressBytes('10.1.2.3')!));
  assert.ok(cidrContains(net, addressBytes('::ffff:10.1.2.3')!));
  assert.ok(!cidrContains(net, addressBytes('11.0.0.1')!));
  const v6 = parseCidr('2001:db8::/32')!;
  assert.ok(cidrContains(v6, addressBytes('2001:db8:1::5')!));
  assert.ok(!cidrContains(v6, addressBytes('2001:db9::1')!));
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('nonsense'), undefined);
});

test('defaults fill a minimal config; durations become ms; paths become absolute', () => {
  const { config, errors } = validateConfig(minimal(), '/etc/warmshake', 'test');
  assert.deepEqual(errors, []);
  assert.ok(config);
  assert.equal(config.session_cache.size, 100_000);
  assert.equal(config.tickets.rotate_every, 12 * 3_600_000);
  assert.equal(config.frontends[0].certificates[0].cert, '/etc/warmshake/c.pem');
  assert.equal(config.frontends[0].min_version, 'TLSv1.2');
  assert.equal(config.frontends[0].timeout.handshake, 10_000);
  // Bounded by default (issue 8); per-address limits stay off because of NAT'd fleets.
  assert.deepEqual(config.frontends[0].limits, { max_connections: 20_000, per_client_connections: 0, per_client_new_sessions: 0, max_client_hello: 16384, max_client_hello_records: 4 });
});

test('every problem is reported with its path', () => {
  const raw = {
    global: { workers: 0, bogus: 1 },
    session_cache: { size: -1, lifetim: 10 },
    frontends: [{ name: 'https', bind: 'nope', backend: 'missing', handshake_timeout: '5s' }],
    backends: [{ name: 'app', balance: 'random', servers: [{ name: 's1', address: '127.0.0.1:99999' }] }],
  };
  const { config, errors } = validateConfig(raw, '/', 'test');
  assert.equal(config, undefined);
  const expect = [
    /^global\.workers: expected an integer from 1/,
    /^global\.bogus: unknown key$/,
    /^session_cache\.size: expected an integer from 0/,
    /^session_cache\.lifetim: unknown key, use lifetime instead$/,
    /^frontends\[0\]\.bind: expected HOST:PORT/,
    /^frontends\[0\]\.handshake_timeout: unknown key, use timeout\.handshake instead$/,
    /^backends\[0\]\.balance: expected one of roundrobin, leastconn, source/,
    /^backends\[0\]\.servers\[0\]\.address: expected HOST:PORT/,
  ];
  for (const re of expect) assert.ok(errors.some((e) => re.test(e)), `missing ${re}: ${errors.join('\n')}`);
});

test('cross-references: unknown backend, duplicate names, mode-specific keys', () => {
  const raw = minimal();
  Object.assign(raw.frontends[0], { backend: 'nope', persist: { size: 10 } });
  raw.frontends.push({ ...raw.frontends[0], backend: 'app' });
  const { errors } = validateConfig(raw, '/', 'test');
  assert.ok(errors.includes('frontends[0].backend: no backend named "nope"'), errors.join('\n'));
  assert.ok(errors.includes('frontends[1].name: duplicate frontend name "https"'), errors.join('\n'));
  assert.ok(errors.some((e) => e.startsWith('frontends[0].persist: only for mode passthrough')), errors.join('\n'));
  assert.ok(errors.some((e) => e.startsWith('frontends[1].bind: 127.0.0.1:8443 is already bound')), errors.join('\n'));
});

test('a cache that would not fit in memory is refused, naming the size and the memory', async () => {
  const { resourceProblems } = await import('../../src/config/checks.ts');
  const raw = { ...minimal(), session_cache: { size: 50_000_000 } };
  const { config } = validateConfig(raw, '/', 'test');
  assert.ok(config);
  const problems = resourceProblems(config, 2 * 1024 ** 3);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^session_cache\.size: 50000000 sessions need [\d.]+ MB: [\d.]+ MB of shared memory in all, more than 75% of this machine's 2048\.0 MB$/);
  assert.deepEqual(resourceProblems({ ...config, session_cache: { ...config.session_cache, size: 100_000 } }, 2 * 1024 ** 3), []);
});

test('a backlog above net.core.somaxconn is a warning naming the sysctl', async () => {
  const { kernelWarnings } = await import('../../src/config/checks.ts');
  const raw = minimal();
  Object.assign(raw.frontends[0], { backlog: 8192 });
  const { config } = validateConfig(raw, '/', 'test');
  assert.ok(config);
  assert.deepEqual(kernelWarnings(config, 4096), ['frontends[0].backlog: 8192 exceeds net.core.somaxconn (4096), which silently caps it; raise it with sysctl -w net.core.somaxconn=8192']);
  assert.deepEqual(kernelWarnings(config, 65535), []);
});
