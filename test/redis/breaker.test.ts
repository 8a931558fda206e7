import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from '../../src/redis/breaker.ts';
import type { BreakerState } from '../../src/redis/breaker.ts';

function setup (errors = 3, backoff = 1000): { breaker: CircuitBreaker; clock: { now: number }; changes: string[] } {
  const clock = { now: 0 };
  const breaker = new CircuitBreaker({ errors, backoff, now: () => clock.now });
  const changes: string[] = [];
  breaker.on('state', (state: BreakerState, previous: BreakerState) => changes.push(`${previous}->${state}`));
  return { breaker, clock, changes };
}

test('opens after N consecutive failures, not after N scattered ones', () => {
  const { breaker, changes } = setup(3);
  breaker.failure();
  breaker.failure();
  breaker.success();
  breaker.failure();
  breaker.failure();
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.allow(), true);
  breaker.failure();
  assert.equal(breaker.state, 'open');
  assert.deepEqual(changes, ['closed->open']);
});

test('open refuses calls until the backoff, then lets exactly one probe through', () => {
  const { breaker, clock, changes } = setup(1, 1000);
  breaker.failure();
  assert.equal(breaker.allow(), false);
  clock.now = 999;
  assert.equal(breaker.allow(), false);
  clock.now = 1000;
  assert.equal(breaker.allow(), true);
  assert.equal(breaker.state, 'half-open');
  assert.equal(breaker.allow(), false, 'a second call while the probe is out');
  breaker.success();
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.allow(), true);
  assert.deepEqual(changes, ['closed->open', 'open->half-open', 'half-open->closed']);
});

test('a failed probe opens it again for another backoff', () => {
  const { breaker, clock, changes } = setup(2, 500);
  breaker.failure();
  breaker.failure();
  clock.now = 500;
  assert.equal(breaker.allow(), true);
  breaker.failure();
  assert.equal(breaker.state, 'open');
  clock.now = 999;
  assert.equal(breaker.allow(), false);
  clock.now = 1000;
  assert.equal(breaker.allow(), true);
  assert.deepEqual(changes, ['closed->open', 'open->half-open', 'half-open->open', 'open->half-open']);
});

test('a probe that never reports is replaced after the backoff', () => {
  const { breaker, clock } = setup(1, 100);
  breaker.failure();
  clock.now = 100;
  assert.equal(breaker.allow(), true);
  clock.now = 150;
  assert.equal(breaker.allow(), false);
  clock.now = 200;
  assert.equal(breaker.allow(), true);
});

test('state changes are emitted once each, not once per call', () => {
  const { breaker, changes } = setup(2);
  for (let i = 0; i < 50; i++) {
    if (breaker.allow()) breaker.failure();
  }
  assert.deepEqual(changes, ['closed->open']);
});
