import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanSize, timeAgo } from './format.js';

test('humanSize uses decimal units like Docker', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(10_190_000), '10.2MB');
  assert.equal(humanSize(438_100_000), '438MB');
  assert.equal(humanSize(1_500), '1.5kB');
});

test('timeAgo', () => {
  const now = Date.parse('2026-01-10T00:00:00Z');
  assert.equal(timeAgo('2026-01-09T23:59:58Z', now), '2 seconds ago');
  assert.equal(timeAgo('2026-01-09T22:00:00Z', now), '2 hours ago');
  assert.equal(timeAgo('2026-01-03T00:00:00Z', now), '1 week ago');
  assert.equal(timeAgo(undefined, now), 'N/A');
});
