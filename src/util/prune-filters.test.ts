import { test } from 'node:test';
import assert from 'node:assert/strict';

import { pruneFilter } from './prune-filters.js';

const now = Date.parse('2024-06-01T12:00:00Z');
const old = { created: '2024-05-01T00:00:00Z', labels: { keep: 'no', team: 'a' } };
const young = { created: '2024-06-01T11:59:00Z', labels: { team: 'b' } };

test('no filters: every candidate', () => {
  const f = pruneFilter({}, 'prune');
  assert.ok(f(old) && f(young) && f({}));
});

test('until keeps what was created at or after it; a duration counts back from now', () => {
  const f = pruneFilter({ until: ['1h'] }, 'prune', [], now);
  assert.equal(f(old), true);
  assert.equal(f(young), false);
  assert.equal(pruneFilter({ until: ['2024-05-15T00:00:00Z'] }, 'prune', [], now)(old), true);
  assert.equal(
    pruneFilter({ until: [String(Date.parse('2024-04-01') / 1000)] }, 'prune', [], now)(old),
    false,
  );
});

test('label needs every one, label! refuses any; key alone or key=value', () => {
  assert.equal(pruneFilter({ label: ['team'] }, 'prune')(old), true);
  assert.equal(pruneFilter({ label: ['team=a', 'keep'] }, 'prune')(old), true);
  assert.equal(pruneFilter({ label: ['team=a', 'keep'] }, 'prune')(young), false);
  assert.equal(pruneFilter({ 'label!': ['keep'] }, 'prune')(old), false);
  assert.equal(pruneFilter({ 'label!': ['keep=yes'] }, 'prune')(old), true);
});

test('an unknown key is refused, not ignored; callers may allow their own', () => {
  assert.throws(
    () => pruneFilter({ dangling: ['true'] }, 'prune volumes'),
    /prune volumes: invalid filter `dangling`/,
  );
  assert.doesNotThrow(() => pruneFilter({ dangling: ['true'] }, 'prune images', ['dangling']));
  assert.throws(() => pruneFilter({ until: ['soon'] }, 'prune'), /invalid value `soon`/);
});
