import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendForSni } from '../../src/frontend/sni-routing.ts';
import { validateConfig } from '../../src/config/schema.ts';

function frontend (rules: Array<{ sni: string; backend: string }>) {
  const { config, errors } = validateConfig({
    frontends: [{ name: 'f', bind: '127.0.0.1:1', mode: 'passthrough', backend: 'default', use_backend: rules }],
    backends: ['default', 'api', 'wild', 'exact'].map((name) => ({ name, servers: [{ name: 's', address: '127.0.0.1:2' }] })),
  }, '/', 'test');
  assert.deepEqual(errors, []);
  return config!.frontends[0];
}

test('use_backend: first matching rule wins, exact or *.suffix; otherwise the default backend', () => {
  const f = frontend([{ sni: 'api.example.com', backend: 'api' }, { sni: '*.example.com', backend: 'wild' }, { sni: 'example.com', backend: 'exact' }]);
  assert.equal(backendForSni(f, 'api.example.com'), 'api');
  assert.equal(backendForSni(f, 'www.example.com'), 'wild');
  assert.equal(backendForSni(f, 'a.b.example.com'), 'wild');
  assert.equal(backendForSni(f, 'example.com'), 'exact', 'a wildcard does not match the bare domain');
  assert.equal(backendForSni(f, 'badexample.com'), 'default', 'a suffix match needs the dot');
  assert.equal(backendForSni(f, 'other.org'), 'default');
  assert.equal(backendForSni(f, undefined), 'default', 'no SNI');
});

test('use_backend rules are compared in lower case', () => {
  const f = frontend([{ sni: 'API.Example.COM', backend: 'api' }]);
  assert.equal(backendForSni(f, 'api.example.com'), 'api');
});
