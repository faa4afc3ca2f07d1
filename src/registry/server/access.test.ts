/** The access file: its globs, who its rules apply to, and one-line errors with the line number. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SkiffError } from '../../util/errors.js';
import { exitStatusOf } from '../../util/error-codes.js';
import { AccessPolicy } from './access.js';
import { RepositoryPattern } from './repository-pattern.js';

function pattern(source: string): RepositoryPattern {
  const p = RepositoryPattern.parse(source);
  assert.ok(p instanceof RepositoryPattern, `${source}: ${JSON.stringify(p)}`);
  return p;
}

test('* matches within one path segment, ** across segments', () => {
  const one = pattern('team/*');
  assert.ok(one.matches('team/app'));
  assert.ok(!one.matches('team/app/db'));
  assert.ok(!one.matches('team'));
  assert.ok(!one.matches('other/app'));
  const deep = pattern('public/**');
  assert.ok(deep.matches('public/a'));
  assert.ok(deep.matches('public/a/b/c'));
  assert.ok(!deep.matches('public'));
  assert.ok(!deep.matches('publicity/a'));
  assert.ok(pattern('**').matches('any/thing/at/all'));
  assert.ok(pattern('**/db').matches('x/y/db'));
  const mid = pattern('team/app-*');
  assert.ok(mid.matches('team/app-web'));
  assert.ok(!mid.matches('team/app-web/x'));
  const literal = pattern('a.b/c');
  assert.ok(literal.matches('a.b/c'));
  assert.ok(!literal.matches('axb/c'), 'a dot is a dot, not any character');
  for (const bad of ['', 'Team/*', 'a//b', '/a', 'a/', 'a/***', 'a?b', 'a[b]'])
    assert.ok(!(RepositoryPattern.parse(bad) instanceof RepositoryPattern), bad);
});

const FILE = `# who may do what
groups:
  team: [alice, bob]
  ops:
    - carol
rules:
  - who: [team]
    repositories: ["team/*"]
    actions: [pull, push]
  - who: [carol, "*"]
    repositories: ["shared/**"]
    actions: [pull]
  - who: ops
    repositories: ["**"]
    actions: ["*"]
  - who: [anonymous]
    repositories: ["public/**"]
    actions: [pull]
`;

test('rules add up per user, group, any user and anonymous', () => {
  const policy = AccessPolicy.parse(FILE, 'access.yaml');
  const actions = (user: string | undefined, repo: string) => [...policy.actions(user, repo)].sort();
  assert.deepEqual(actions('alice', 'team/app'), ['pull', 'push']);
  assert.deepEqual(actions('alice', 'team/app/db'), [], '* stays within a segment');
  assert.deepEqual(actions('alice', 'shared/x/y'), ['pull'], '"*" is any user');
  assert.deepEqual(actions('alice', 'public/x'), [], 'a user is not anonymous');
  assert.deepEqual(actions('carol', 'team/app'), ['delete', 'pull', 'push'], 'ops may do anything');
  assert.deepEqual(actions('dave', 'shared/x'), ['pull']);
  assert.deepEqual(actions('dave', 'team/app'), []);
  assert.deepEqual(actions(undefined, 'public/x'), ['pull']);
  assert.deepEqual(actions(undefined, 'shared/x'), [], '"*" is not anonymous');
  assert.ok(policy.pullsAnything(undefined));
  assert.ok(
    !AccessPolicy.parse('rules:\n  - {who: a, repositories: x, actions: pull}\n', 'f').pullsAnything(
      undefined,
    ),
  );
});

test('a group name means the group, even when a user has the same name', () => {
  const policy = AccessPolicy.parse(
    'groups:\n  admins: [alice]\nrules:\n  - {who: [admins], repositories: ["**"], actions: [push]}\n',
    'f',
  );
  assert.ok(policy.allows('alice', 'x', 'push'));
  assert.ok(!policy.allows('admins', 'x', 'push'));
});

test('JSON is read too', () => {
  const policy = AccessPolicy.parse(
    JSON.stringify({ rules: [{ who: ['bob'], repositories: ['b/*'], actions: ['pull', 'delete'] }] }),
    'access.json',
  );
  assert.deepEqual([...policy.actions('bob', 'b/c')].sort(), ['delete', 'pull']);
});

/** The one error line for `text`, which must name the file and `line`. */
function problem(text: string, line: number, what: RegExp): void {
  assert.throws(
    () => AccessPolicy.parse(text, '/etc/skiff/access.yaml'),
    (err: unknown) => {
      assert.ok(err instanceof SkiffError);
      assert.equal(err.code, 'ACCESS_FILE_INVALID');
      assert.equal(exitStatusOf(err.code), 2);
      assert.doesNotMatch(err.message, /\n/);
      assert.match(err.message, new RegExp(`^read access file \`/etc/skiff/access\\.yaml\`: line ${line}: `));
      assert.match(err.message, what);
      return true;
    },
  );
}

test('a malformed file is one error line with the file, the line and what is wrong', () => {
  problem('', 1, /empty; it needs `rules:`/);
  problem('groups:\n  a: [x]\n', 1, /no `rules:`/);
  problem('- 1\n', 1, /top level must be a mapping/);
  problem(
    'rules:\n  - who: [a]\n    repositories: [x]\n    actions: [pul]\n',
    4,
    /rules\[0\]\.actions: `pul` is not an action/,
  );
  problem('rules: []\nusers: [a]\n', 2, /users: unknown key; expected `groups`, `rules`/);
  problem('rules:\n  - who: [a]\n    repositories: [x]\n', 2, /rules\[0\]: no `actions`/);
  problem(
    'rules:\n  - who: []\n    repositories: [x]\n    actions: [pull]\n',
    2,
    /rules\[0\]\.who: must be a non-empty list/,
  );
  problem(
    'rules:\n  - who: [a]\n    repositories: [x]\n    actions: [pull]\n  - who: [b]\n    repositories: ["Team/*"]\n    actions: [pull]\n',
    6,
    /rules\[1\]\.repositories: `Team\/\*` may hold only a-z/,
  );
  problem(
    'rules:\n  - who: [a]\n    repository: [x]\n    actions: [pull]\n',
    3,
    /rules\[0\]\.repository: unknown key/,
  );
  problem('groups:\n  anonymous: [a]\nrules: []\n', 2, /`anonymous` is reserved/);
  problem(
    'groups:\n  a: [x]\n  b: [a]\nrules: []\n',
    3,
    /groups\.b: `a` is not a user name \(groups hold users\)/,
  );
  problem('rules:\n  - who: [a\n    actions: [pull]\n', 3, /not valid YAML/);
  problem('rules:\n  - who: [a]\n    who: [b]\n', 3, /not valid YAML: Map keys must be unique/);
  problem(
    'rules:\n  - who: [1]\n    repositories: [x]\n    actions: [pull]\n',
    2,
    /must be a list of strings/,
  );
  // In a block list, the line of the very item that is wrong.
  problem(
    'rules:\n  - who: [a]\n    repositories: [x]\n    actions:\n      - pull\n      - push\n      - remove\n',
    7,
    /rules\[0\]\.actions: `remove` is not an action/,
  );
  problem('groups:\n  a:\n    - x\n    - "*"\nrules: []\n', 4, /groups\.a: `\*` is not a user name/);
});

test('read names a file that cannot be read', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-access-'));
  try {
    assert.throws(
      () => AccessPolicy.read(path.join(dir, 'missing.yaml')),
      /read access file `.*missing\.yaml`: ENOENT/,
    );
    const file = path.join(dir, 'access.yaml');
    fs.writeFileSync(file, FILE);
    assert.ok(AccessPolicy.read(file).allows('bob', 'team/x', 'push'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
