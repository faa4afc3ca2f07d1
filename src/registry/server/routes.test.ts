/** The endpoint table, name and tag grammars, and Range parsing, without a server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange } from './blob-handlers.js';
import { RegistryError } from './errors.js';
import { checkName, isTag } from './names.js';
import { route } from './routes.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RegistryError);
    return `${err.status} ${err.code}`;
  }
  return 'ok';
};

test('routes match from the end, so names may hold slashes', () => {
  assert.deepEqual(route('/v2/'), { kind: 'base' });
  assert.deepEqual(route('/v2/a/b/c/manifests/v1'), { kind: 'manifest', name: 'a/b/c', reference: 'v1' });
  assert.deepEqual(route('/v2/a/blobs/uploads/'), { kind: 'uploads', name: 'a' });
  assert.deepEqual(route('/v2/a/blobs/uploads/u-1'), { kind: 'upload', name: 'a', uuid: 'u-1' });
  assert.deepEqual(route('/v2/x/manifests/blobs/uploads/'), { kind: 'uploads', name: 'x/manifests' });
  assert.deepEqual(route('/v2/a/tags/list'), { kind: 'tags', name: 'a' });
  assert.deepEqual(route('/v2/a/referrers/sha256%3Aab'), {
    kind: 'referrers',
    name: 'a',
    digest: 'sha256:ab',
  });
  assert.equal(route('/elsewhere'), undefined);
  assert.equal(
    code(() => route('/v2/a/unknown')),
    '404 NAME_UNKNOWN',
  );
});

test('names follow the spec grammar and cannot escape their directory', () => {
  for (const ok of ['a', 'a/b', 'a-b/c.d/e__f', 'a--b', '0'])
    assert.equal(
      code(() => checkName(ok)),
      'ok',
      ok,
    );
  for (const bad of [
    '',
    '..',
    'a/..',
    '/a',
    'a/',
    'a//b',
    'A',
    '_a',
    'a/_b',
    'a___b',
    '.a',
    'a.',
    'a'.repeat(256),
  ])
    assert.equal(
      code(() => checkName(bad)),
      '400 NAME_INVALID',
      bad,
    );
});

test('tags follow the spec grammar', () => {
  for (const ok of ['v1', 'latest', '_x', 'A.b-c_d', 'x'.repeat(128)]) assert.ok(isTag(ok), ok);
  for (const bad of ['', '.v', '-v', 'a/b', 'a:b', 'x'.repeat(129), '..']) assert.ok(!isTag(bad), bad);
});

test('Range: first-last, open-ended, suffix; 416 otherwise', () => {
  assert.equal(parseRange(undefined, 10), undefined);
  assert.deepEqual(parseRange('bytes=0-0', 10), { start: 0, end: 0 });
  assert.deepEqual(parseRange('bytes=3-100', 10), { start: 3, end: 9 });
  assert.deepEqual(parseRange('bytes=4-', 10), { start: 4, end: 9 });
  assert.deepEqual(parseRange('bytes=-20', 10), { start: 0, end: 9 });
  for (const bad of ['bytes=10-', 'bytes=5-2', 'bytes=-0', 'bytes=-', 'items=0-1', 'bytes=0-1,3-4'])
    assert.equal(
      code(() => parseRange(bad, 10)),
      '416 BLOB_UNKNOWN',
      bad,
    );
});
