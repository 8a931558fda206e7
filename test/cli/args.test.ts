import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../../src/cli/args.ts';
import { UsageError } from '../../src/errors.ts';

test('run and check take -c', () => {
  assert.deepEqual(parseArgs(['run']), { command: 'run', config: undefined });
  assert.deepEqual(parseArgs(['run', '-c', 'x.yaml']), { command: 'run', config: 'x.yaml' });
  assert.deepEqual(parseArgs(['check', '--config=x.yaml']), { command: 'check', config: 'x.yaml' });
  assert.throws(() => parseArgs(['check']), /-c FILE is required/);
  assert.throws(() => parseArgs(['run', '--bogus']), UsageError);
});

test('probe parses its contract options', () => {
  const cmd = parseArgs(['probe', '127.0.0.1:8443', '--tls', '1.3', '--count', '4', '--servername', 'a.example', '--no-tickets', '--json']);
  assert.equal(cmd.command, 'probe');
  if (cmd.command !== 'probe') return;
  assert.equal(cmd.options.host, '127.0.0.1');
  assert.equal(cmd.options.port, 8443);
  assert.equal(cmd.options.tls, '1.3');
  assert.equal(cmd.options.count, 4);
  assert.equal(cmd.options.servername, 'a.example');
  assert.equal(cmd.options.tickets, false);
  assert.equal(cmd.options.json, true);
  assert.throws(() => parseArgs(['probe', 'nohostport']), /expected HOST:PORT/);
  assert.throws(() => parseArgs(['probe', 'h:1', '--tls', '1.1']), /--tls expects 1.2 or 1.3/);
  assert.equal((parseArgs(['probe', '[::1]:443']) as { options: { host: string } }).options.host, '::1');
});

test('bench parses ratios and counts, and refuses nonsense', () => {
  const cmd = parseArgs(['bench', 'localhost:443', '--connections', '20', '--duration', '2.5', '--resume', '0.5', '--clients', '100', '--sni', 'x']);
  assert.equal(cmd.command, 'bench');
  if (cmd.command !== 'bench') return;
  assert.equal(cmd.options.connections, 20);
  assert.equal(cmd.options.duration, 2.5);
  assert.equal(cmd.options.resume, 0.5);
  assert.equal(cmd.options.clients, 100);
  assert.equal(cmd.options.servername, 'x');
  assert.equal(cmd.options.rate, 0);
  assert.equal(cmd.options.group, undefined);
  const open = parseArgs(['bench', 'h:1', '--rate', '250', '--group', 'X25519']);
  assert.ok(open.command === 'bench' && open.options.rate === 250 && open.options.group === 'X25519');
  assert.throws(() => parseArgs(['bench', 'h:1', '--rate', '-1']), /--rate/);
  assert.throws(() => parseArgs(['bench', 'h:1', '--resume', '2']), /--resume expects a number from 0 to 1/);
  assert.throws(() => parseArgs(['bench', 'h:1', '--connections']), /needs a value/);
});

test('ctl keeps the command words; keys generate; version', () => {
  assert.deepEqual(parseArgs(['ctl', '-s', '/tmp/s', 'show', 'info']), { command: 'ctl', socket: '/tmp/s', line: 'show info' });
  assert.deepEqual(parseArgs(['ctl', 'rotate', 'keys']), { command: 'ctl', socket: undefined, line: 'rotate keys' });
  assert.throws(() => parseArgs(['ctl']), /which command/);
  assert.deepEqual(parseArgs(['keys', 'generate']), { command: 'keys-generate', count: 1 });
  assert.deepEqual(parseArgs(['--version']), { command: 'version' });
  assert.throws(() => parseArgs(['frobnicate']), /unknown command frobnicate/);
});
