import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  familiarName,
  familiarString,
  formatReference,
  parseReference,
  type Reference,
} from './reference.js';

// Cases drawn from distribution/reference's normalize_test.go and reference_test.go.
const SHA = 'sha256:' + 'f'.repeat(64);
const SHA2 = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const SHA512 = 'sha512:' + 'f'.repeat(128);
const ID = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

const hub = (repository: string, extra: Partial<Reference> = { tag: 'latest' }): Reference => ({
  registry: 'docker.io',
  repository,
  ...extra,
});

describe('parseReference: valid', () => {
  // input, parsed, familiar string
  const table: [string, Reference, string][] = [
    ['busybox', hub('library/busybox'), 'busybox:latest'],
    ['busybox:1.36', hub('library/busybox', { tag: '1.36' }), 'busybox:1.36'],
    ['library/debian', hub('library/debian'), 'debian:latest'],
    ['docker.io/debian', hub('library/debian'), 'debian:latest'],
    ['docker.io/library/debian', hub('library/debian'), 'debian:latest'],
    ['index.docker.io/debian', hub('library/debian'), 'debian:latest'],
    ['index.docker.io/docker/docker', hub('docker/docker'), 'docker/docker:latest'],
    ['docker/docker', hub('docker/docker'), 'docker/docker:latest'],
    ['dmcgowan/myapp:latest', hub('dmcgowan/myapp'), 'dmcgowan/myapp:latest'],
    ['library/foo/bar', hub('library/foo/bar'), 'library/foo/bar:latest'],
    ['store/foo/bar', hub('store/foo/bar'), 'store/foo/bar:latest'],
    ['other/library', hub('other/library'), 'other/library:latest'],
    ['test_com/foo', hub('test_com/foo'), 'test_com/foo:latest'],
    ['docker-rules/docker', hub('docker-rules/docker'), 'docker-rules/docker:latest'],
    ['docker---rules/docker', hub('docker---rules/docker'), 'docker---rules/docker:latest'],
    ['dock__er/docker', hub('dock__er/docker'), 'dock__er/docker:latest'],
    ['d/docker', hub('d/docker'), 'd/docker:latest'],
    ['jess/t', hub('jess/t'), 'jess/t:latest'],
    ['ubuntu-12.04-base', hub('library/ubuntu-12.04-base'), 'ubuntu-12.04-base:latest'],
    ['lowercase:Uppercase', hub('library/lowercase', { tag: 'Uppercase' }), 'lowercase:Uppercase'],
    ['foo_bar.com:8080', hub('library/foo_bar.com', { tag: '8080' }), 'foo_bar.com:8080'],
    ['192.168.0.1', hub('library/192.168.0.1'), '192.168.0.1:latest'],
    [
      'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
      hub('library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev'),
      'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest',
    ],
    [`docker.io/${ID}`, hub(`library/${ID}`), `${ID}:latest`],
    [`redis@${SHA2}`, hub('library/redis', { digest: SHA2 }), `redis@${SHA2}`],
    [
      `busybox:latest@${SHA}`,
      hub('library/busybox', { tag: 'latest', digest: SHA }),
      `busybox:latest@${SHA}`,
    ],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }, 'localhost/app:latest'],
    [
      `localhost:5000/a/b@${SHA}`,
      { registry: 'localhost:5000', repository: 'a/b', digest: SHA },
      `localhost:5000/a/b@${SHA}`,
    ],
    [
      '127.0.0.1:5000/team/app:v2',
      { registry: '127.0.0.1:5000', repository: 'team/app', tag: 'v2' },
      '127.0.0.1:5000/team/app:v2',
    ],
    [
      '192.168.0.1:8/debian',
      { registry: '192.168.0.1:8', repository: 'debian', tag: 'latest' },
      '192.168.0.1:8/debian:latest',
    ],
    [
      `ghcr.io/o/r:t@${SHA}`,
      { registry: 'ghcr.io', repository: 'o/r', tag: 't', digest: SHA },
      `ghcr.io/o/r:t@${SHA}`,
    ],
    [
      'example.com:8000/private/moonbase',
      { registry: 'example.com:8000', repository: 'private/moonbase', tag: 'latest' },
      'example.com:8000/private/moonbase:latest',
    ],
    [
      'test-com:8080/foo',
      { registry: 'test-com:8080', repository: 'foo', tag: 'latest' },
      'test-com:8080/foo:latest',
    ],
    [
      'xn--n3h.com/myimage:xn--n3h.com',
      { registry: 'xn--n3h.com', repository: 'myimage', tag: 'xn--n3h.com' },
      'xn--n3h.com/myimage:xn--n3h.com',
    ],
    [
      `xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`,
      { registry: 'xn--7o8h.com', repository: 'myimage', tag: 'xn--7o8h.com', digest: SHA512 },
      `xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`,
    ],
    [
      'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
      { registry: 'sub-dom1.foo.com', repository: 'bar/baz/quux', tag: 'some-long-tag' },
      'sub-dom1.foo.com/bar/baz/quux:some-long-tag',
    ],
    [
      'b.gcr.io/test.example.com/my-app:test.example.com',
      { registry: 'b.gcr.io', repository: 'test.example.com/my-app', tag: 'test.example.com' },
      'b.gcr.io/test.example.com/my-app:test.example.com',
    ],
    [
      '[fc00::1]:5000/docker',
      { registry: '[fc00::1]:5000', repository: 'docker', tag: 'latest' },
      '[fc00::1]:5000/docker:latest',
    ],
    [
      '[2001:db8::1]/repo:tag',
      { registry: '[2001:db8::1]', repository: 'repo', tag: 'tag' },
      '[2001:db8::1]/repo:tag',
    ],
    [
      `[2001:db8::1]:5000/repo:tag@${SHA}`,
      { registry: '[2001:db8::1]:5000', repository: 'repo', tag: 'tag', digest: SHA },
      `[2001:db8::1]:5000/repo:tag@${SHA}`,
    ],
    // Docker takes an uppercase first component as a registry name, since namespaces are lowercase.
    ['Docker/docker', { registry: 'Docker', repository: 'docker', tag: 'latest' }, 'Docker/docker:latest'],
    ['FOO/bar', { registry: 'FOO', repository: 'bar', tag: 'latest' }, 'FOO/bar:latest'],
    [
      `busybox:${'t'.repeat(128)}`,
      hub('library/busybox', { tag: 't'.repeat(128) }),
      `busybox:${'t'.repeat(128)}`,
    ],
  ];
  for (const [input, want, familiar] of table) {
    it(input.length > 70 ? input.slice(0, 70) + '…' : input, () => {
      const ref = parseReference(input);
      assert.deepStrictEqual(ref, want);
      assert.equal(familiarString(ref), familiar);
      assert.deepStrictEqual(parseReference(formatReference(ref)), ref, 'formatReference round-trips');
      assert.deepStrictEqual(parseReference(familiarString(ref)), ref, 'familiarString round-trips');
    });
  }
});

describe('parseReference: invalid', () => {
  const bad = (input: string, why: string): [string, string] => [
    input,
    `invalid reference \`${input}\`: ${why}`,
  ];
  const table: [string, string][] = [
    bad('', 'empty'),
    bad(ID, 'a 64-character hex string is an image ID, not a reference'),
    bad('Foo', 'repository name must be lowercase'),
    bad('Uppercase:tag', 'repository name must be lowercase'),
    bad('docker/Docker', 'repository name must be lowercase'),
    bad('docker.io/docker/Docker', 'repository name must be lowercase'),
    bad('test:5000/Uppercase/lowercase:tag', 'repository name must be lowercase'),
    bad('https://github.com/docker/docker', 'invalid registry `https:`'),
    bad(
      '-docker',
      "invalid path component `-docker`: lowercase letters and digits, separated by '.', '_', '__' or '-'",
    ),
    bad(
      '-docker/docker',
      "invalid path component `-docker`: lowercase letters and digits, separated by '.', '_', '__' or '-'",
    ),
    bad(
      'docker-/docker',
      "invalid path component `docker-`: lowercase letters and digits, separated by '.', '_', '__' or '-'",
    ),
    bad('-docker.io/docker/docker', 'invalid registry `-docker.io`'),
    bad('docker///docker', 'repository `docker///docker` has an empty path component'),
    bad('docker.io/docker///docker', 'repository `docker///docker` has an empty path component'),
    bad('docker/', 'repository `docker/` has an empty path component'),
    bad(
      '____/____',
      "invalid path component `____`: lowercase letters and digits, separated by '.', '_', '__' or '-'",
    ),
    bad(
      '_docker/_docker',
      "invalid path component `_docker`: lowercase letters and digits, separated by '.', '_', '__' or '-'",
    ),
    bad('dock..er/docker', 'invalid registry `dock..er`'),
    bad('dock_.er/docker', 'invalid registry `dock_.er`'),
    bad('dock-.er/docker', 'invalid registry `dock-.er`'),
    bad(
      'aa/asdf$$^/aa',
      "invalid path component `asdf$$^`: lowercase letters and digits, separated by '.', '_', '__' or '-'",
    ),
    bad('[fc00::1]', 'invalid tag `:1]`: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'),
    bad('[fc00::1]:5000', 'invalid tag `:1]:5000`: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'),
    bad('fc00::1:5000/debian', 'invalid registry `fc00::1:5000`'),
    bad('[fe80::1%eth0]:5000/debian', 'invalid registry `[fe80::1%eth0]:5000`'),
    bad('[2001:db8:3:4::192.0.2.33]:5000/debian', 'invalid registry `[2001:db8:3:4::192.0.2.33]:5000`'),
    bad(':justtag', 'missing repository name'),
    bad(`@${SHA}`, 'missing repository name'),
    bad(
      'repo@sha256:ffffffffffffffffffffffffffffffffff',
      'invalid digest `sha256:ffffffffffffffffffffffffffffffffff`: sha256 needs 64 hex characters, got 34',
    ),
    bad(
      `validname@invaliddigest:${'f'.repeat(64)}`,
      `invalid digest \`invaliddigest:${'f'.repeat(64)}\`: unsupported algorithm \`invaliddigest\` (expected sha256 or sha512)`,
    ),
    bad(
      `busybox@sha256:${'F'.repeat(64)}`,
      `invalid digest \`sha256:${'F'.repeat(64)}\`: hex must be lowercase`,
    ),
    bad('busybox:-latest', 'invalid tag `-latest`: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'),
    bad('busybox:', 'invalid tag ``: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'),
    bad('busybox:a:b', 'invalid tag `a:b`: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'),
    bad(
      'a/b:c:d/e',
      "invalid path component `b:c:d`: lowercase letters and digits, separated by '.', '_', '__' or '-'",
    ),
    bad(
      ' busybox',
      "invalid path component ` busybox`: lowercase letters and digits, separated by '.', '_', '__' or '-'",
    ),
    bad(
      'library/dock..er',
      "invalid path component `dock..er`: lowercase letters and digits, separated by '.', '_', '__' or '-'",
    ),
  ];
  for (const [input, message] of table) {
    it(JSON.stringify(input.slice(0, 60)), () => {
      assert.throws(() => parseReference(input), { name: 'InvalidArgument', message });
    });
  }

  it('rejects an over-long tag', () => {
    const input = `busybox:${'t'.repeat(129)}`;
    assert.throws(() => parseReference(input), {
      message: /^invalid reference `busybox:t+…`: invalid tag `t+…`: must match/,
    });
  });

  it('rejects a name over 255 characters', () => {
    // docker.io/ + 245 = 255 is fine; one more is not.
    const ok = 'a/'.repeat(122) + 'a';
    assert.equal(parseReference(ok).repository.length + 'docker.io/'.length, 255);
    const input = 'a/'.repeat(122) + 'ab';
    assert.throws(() => parseReference(input), { message: /: name is 256 characters, more than 255$/ });
  });
});

describe('parseReference options', () => {
  it('adds no default tag when asked not to, or when a digest is given', () => {
    assert.deepStrictEqual(parseReference('busybox', { defaultTag: false }), hub('library/busybox', {}));
    assert.deepStrictEqual(parseReference(`busybox@${SHA}`), hub('library/busybox', { digest: SHA }));
  });
});

describe('formatting', () => {
  const table: [Reference, string, string][] = [
    [hub('library/busybox'), 'docker.io/library/busybox:latest', 'busybox'],
    [hub('user/app', {}), 'docker.io/user/app', 'user/app'],
    [hub('library/foo/bar', { digest: SHA }), `docker.io/library/foo/bar@${SHA}`, 'library/foo/bar'],
    [
      { registry: 'localhost:5000', repository: 'a/b', tag: 'x' },
      'localhost:5000/a/b:x',
      'localhost:5000/a/b',
    ],
    [{ registry: 'ghcr.io', repository: 'library/x' }, 'ghcr.io/library/x', 'ghcr.io/library/x'],
  ];
  for (const [ref, full, familiar] of table) {
    it(full, () => {
      assert.equal(formatReference(ref), full);
      assert.equal(familiarName(ref), familiar);
    });
  }
});
