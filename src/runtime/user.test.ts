import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { GROUP, PASSWD, tempDir } from './bundle-testing.js';
import { resolveUser } from './user.js';

let dir: string;
let rootfs: string;

before(() => {
  dir = tempDir('user');
  rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'etc/passwd'), PASSWD);
  fs.writeFileSync(path.join(rootfs, 'etc/group'), GROUP);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('-u resolves like moby/sys user.GetExecUser', () => {
  const table: [string | undefined, ReturnType<typeof resolveUser>][] = [
    [undefined, { uid: 0, gid: 0, additionalGids: [10], home: '/root' }],
    ['', { uid: 0, gid: 0, additionalGids: [10], home: '/root' }],
    ['root', { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' }],
    ['app', { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29], home: '/home/app' }],
    ['1000', { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29], home: '/home/app' }],
    ['app:wheel', { uid: 1000, gid: 10, additionalGids: [10], home: '/home/app' }],
    ['1000:29', { uid: 1000, gid: 29, additionalGids: [29], home: '/home/app' }],
    ['app:4000', { uid: 1000, gid: 4000, additionalGids: [4000], home: '/home/app' }],
    ['4242', { uid: 4242, gid: 0, additionalGids: [0], home: '/' }],
    ['4242:staff', { uid: 4242, gid: 50, additionalGids: [50], home: '/' }],
    ['daemon', { uid: 1, gid: 1, additionalGids: [1], home: '/usr/sbin' }],
  ];
  for (const [user, want] of table) {
    test(`${JSON.stringify(user)}`, () => assert.deepEqual(resolveUser(rootfs, user), want));
  }
  test('unknown names are errors with Docker’s wording', () => {
    assert.throws(() => resolveUser(rootfs, 'ghost'), {
      name: 'InvalidArgument',
      message: 'unable to find user `ghost`: no matching entries in passwd file',
    });
    assert.throws(() => resolveUser(rootfs, 'app:ghosts'), {
      message: 'unable to find group `ghosts`: no matching entries in group file',
    });
    assert.throws(() => resolveUser(rootfs, '99999999999'), { message: /uids and gids must be in range/ });
  });
  test('an image without /etc/passwd: numeric ids work, names do not', () => {
    const bare = path.join(dir, 'bare');
    fs.mkdirSync(bare);
    assert.deepEqual(resolveUser(bare, undefined), { uid: 0, gid: 0, additionalGids: [], home: '/' });
    assert.deepEqual(resolveUser(bare, '5:6'), { uid: 5, gid: 6, additionalGids: [6], home: '/' });
    assert.throws(() => resolveUser(bare, 'app'), { message: /unable to find user `app`/ });
  });
});

describe('the image’s files are read inside its rootfs', () => {
  test('an absolute symlink resolves within the rootfs, not on the host', () => {
    const r = path.join(dir, 'abs-link');
    fs.mkdirSync(path.join(r, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(r, 'data'));
    fs.writeFileSync(path.join(r, 'data/passwd'), 'inside:x:77:77::/inside:/bin/sh\n');
    fs.symlinkSync('/data/passwd', path.join(r, 'etc/passwd'));
    assert.deepEqual(resolveUser(r, 'inside'), { uid: 77, gid: 77, additionalGids: [77], home: '/inside' });
  });
  test('a symlink climbing out with .. stops at the rootfs (host /etc/passwd is never read)', () => {
    const r = path.join(dir, 'climb');
    fs.mkdirSync(path.join(r, 'etc'), { recursive: true });
    // Escaped, this would find the host's root; clamped, it points at itself.
    fs.symlinkSync('../../../../../../../../../etc/passwd', path.join(r, 'etc/passwd'));
    assert.throws(() => resolveUser(r, 'root'), { message: /too many symbolic links/ });
    fs.rmSync(path.join(r, 'etc/passwd'));
    fs.symlinkSync('../../../../../../../../../etc/hostname', path.join(r, 'etc/passwd'));
    assert.throws(() => resolveUser(r, 'root'), { message: /unable to find user `root`/ });
    assert.deepEqual(resolveUser(r, '0:0'), { uid: 0, gid: 0, additionalGids: [0], home: '/' });
  });
  test('a FIFO in place of /etc/group is refused, not waited on', () => {
    const r = path.join(dir, 'fifo');
    fs.mkdirSync(path.join(r, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(r, 'etc/passwd'), PASSWD);
    assert.equal(spawnSync('mkfifo', [path.join(r, 'etc/group')]).status, 0);
    assert.throws(() => resolveUser(r, 'app'), {
      message: 'read `/etc/group` in the container: not a regular file',
    });
  });
});
