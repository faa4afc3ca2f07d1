import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../util/duration.js';
import { healthSpec, initialHealth, nextHealth, type HealthSpec } from './health.js';

test('durations in Docker form', () => {
  assert.equal(parseDuration('30s', 'x'), 30_000);
  assert.equal(parseDuration('1m30s', 'x'), 90_000);
  assert.equal(parseDuration('500ms', 'x'), 500);
  assert.equal(parseDuration('1.5s', 'x'), 1500);
  assert.throws(() => parseDuration('5x', 'health-interval'), /invalid duration `5x` for --health-interval/);
  assert.throws(() => parseDuration('', 'x'), /invalid duration/);
});

test('flags override the image HEALTHCHECK; NONE turns it off', () => {
  const image = { Healthcheck: { Test: ['CMD', 'check', '--fast'], Interval: 10_000_000_000, Retries: 5 } };
  const fromImage = healthSpec({ image: 'x' }, image)!;
  assert.deepEqual(fromImage.command, ['check', '--fast']);
  assert.equal(fromImage.intervalMs, 10_000);
  assert.equal(fromImage.retries, 5);
  assert.equal(fromImage.timeoutMs, 30_000);
  const fromFlag = healthSpec({ image: 'x', healthCmd: 'wget -q localhost', healthInterval: '2s' }, image)!;
  assert.deepEqual(fromFlag.command, ['/bin/sh', '-c', 'wget -q localhost']);
  assert.equal(fromFlag.intervalMs, 2000);
  assert.equal(healthSpec({ image: 'x', noHealthcheck: true }, image), undefined);
  assert.equal(healthSpec({ image: 'x' }, { Healthcheck: { Test: ['NONE'] } }), undefined);
  assert.equal(healthSpec({ image: 'x' }, {}), undefined);
  assert.deepEqual(healthSpec({ image: 'x' }, { Healthcheck: { Test: ['CMD-SHELL', 'a && b'] } })!.command, [
    '/bin/sh',
    '-c',
    'a && b',
  ]);
});

test('retries failures in a row make it unhealthy; one success heals; start period forgives', () => {
  const spec: HealthSpec = { command: ['x'], intervalMs: 1, timeoutMs: 1, retries: 2, startPeriodMs: 0 };
  const start = new Date();
  const long = Date.now() - 60_000;
  let state = initialHealth();
  state = nextHealth(state, spec, { exitCode: 1, output: '', start }, long);
  assert.equal(state.status, 'starting');
  assert.equal(state.failingStreak, 1);
  state = nextHealth(state, spec, { exitCode: 1, output: '', start }, long);
  assert.equal(state.status, 'unhealthy');
  state = nextHealth(state, spec, { exitCode: 0, output: 'ok', start }, long);
  assert.equal(state.status, 'healthy');
  assert.equal(state.failingStreak, 0);
  assert.equal(state.log.length, 3);

  const patient = { ...spec, startPeriodMs: 60_000 };
  const inPeriod = nextHealth(initialHealth(), patient, { exitCode: 1, output: '', start }, Date.now());
  assert.equal(inPeriod.failingStreak, 0, 'failures in the start period do not count');
});
