/** The router: fixed and greedy path parameters, the version prefix, 404 and 405. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router, matchParts, stripVersion } from './router.js';

const split = (path: string): string[] => path.split('/').filter((p) => p !== '');

test('{name} takes exactly one part', () => {
  assert.deepEqual(matchParts(split('/containers/{id}/json'), split('/containers/abc/json')), { id: 'abc' });
  assert.equal(matchParts(split('/containers/{id}/json'), split('/containers/a/b/json')), undefined);
  assert.equal(matchParts(split('/containers/{id}/json'), split('/containers/json')), undefined);
});

test('{name*} takes one or more parts before a fixed suffix', () => {
  const pattern = split('/images/{name*}/json');
  assert.deepEqual(matchParts(pattern, split('/images/busybox/json')), { name: 'busybox' });
  assert.deepEqual(matchParts(pattern, split('/images/127.0.0.1:5000/team/app:1/json')), {
    name: '127.0.0.1:5000/team/app:1',
  });
  // No part is left for the name.
  assert.equal(matchParts(pattern, split('/images/json')), undefined);
  // The suffix must match.
  assert.equal(matchParts(pattern, split('/images/team/app/history')), undefined);
  assert.equal(matchParts(pattern, split('/containers/team/app/json')), undefined);
});

test('{name*} at the end takes the rest; parts are percent-decoded', () => {
  const pattern = split('/images/{name*}');
  assert.deepEqual(matchParts(pattern, split('/images/a/b/c')), { name: 'a/b/c' });
  assert.deepEqual(matchParts(pattern, split('/images/team%2Fapp%3A1')), { name: 'team/app:1' });
  assert.equal(matchParts(pattern, split('/images')), undefined);
});

test('a greedy route and fixed routes beside it', () => {
  const seen: string[] = [];
  const router = new Router()
    .add('GET', '/images/json', () => void seen.push('list'))
    .add('GET', '/images/{name*}/json', (ctx) => void seen.push(`inspect ${ctx.params['name']}`))
    .add('POST', '/images/{name*}/tag', (ctx) => void seen.push(`tag ${ctx.params['name']}`))
    .add('DELETE', '/images/{name*}', (ctx) => void seen.push(`delete ${ctx.params['name']}`));
  const call = (method: string, path: string) => {
    const { handler, params } = router.match(method, path);
    void handler({ method, path, params, query: new URLSearchParams(), req: undefined as never });
  };
  call('GET', '/v1.41/images/json');
  call('GET', '/images/127.0.0.1:5000/team/app/json');
  call('POST', '/v1.41/images/team/app:1/tag');
  call('DELETE', '/images/127.0.0.1:5000/team/app:1');
  assert.deepEqual(seen, [
    'list',
    'inspect 127.0.0.1:5000/team/app',
    'tag team/app:1',
    'delete 127.0.0.1:5000/team/app:1',
  ]);
  // A path a route holds, with a method it does not: 405; no route at all: 404.
  assert.throws(() => router.match('PUT', '/images/team/app/tag'), { code: 'METHOD_NOT_ALLOWED' });
  assert.throws(() => router.match('GET', '/networks/x'), { code: 'PAGE_NOT_FOUND' });
});

test('the version prefix is stripped within the served range', () => {
  assert.equal(stripVersion('/v1.41/images/json'), '/images/json');
  assert.equal(stripVersion('/images/json'), '/images/json');
  assert.throws(() => stripVersion('/v1.99/version'), /too new/);
  assert.throws(() => stripVersion('/v1.12/version'), /too old/);
});
