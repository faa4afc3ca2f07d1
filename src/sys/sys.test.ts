import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { getXattr, listXattrs, readXattrs, setXattr } from './xattr.js';
import { majorOf, makedev, minorOf, mknod } from './nodes.js';
import { tryLock } from './flock.js';
import { mount, umount } from './mount.js';
import { needs } from '../util/test-requirements.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-sys-'));
}

test('xattrs round-trip binary values, on the link itself', { skip: needs('root') }, () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'x');
    const value = Buffer.from([0, 1, 0xff, 0x3d, 0]);
    setXattr(file, 'trusted.overlay.opaque', Buffer.from('y'));
    setXattr(file, 'user.bin', value);
    assert.deepEqual(getXattr(file, 'user.bin'), value);
    assert.equal(getXattr(file, 'user.absent'), undefined);
    assert.deepEqual(listXattrs(file).sort(), ['trusted.overlay.opaque', 'user.bin']);
    assert.equal(readXattrs(file).get('trusted.overlay.opaque')?.toString(), 'y');
    fs.symlinkSync('f', path.join(dir, 'l'));
    setXattr(path.join(dir, 'l'), 'trusted.skiff', Buffer.from('link'));
    assert.equal(getXattr(file, 'trusted.skiff'), undefined);
    const big = Buffer.alloc(3000, 7);
    setXattr(file, 'user.big', big);
    assert.deepEqual(getXattr(file, 'user.big'), big);
    assert.throws(() => getXattr(path.join(dir, 'missing'), 'user.x'), /lgetxattr `.*missing`: ENOENT/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('makedev matches the kernel layout', () => {
  assert.equal(makedev(1, 3), 259n);
  assert.equal(majorOf(makedev(259, 70000)), 259);
  assert.equal(minorOf(makedev(259, 70000)), 70000);
});

test('mknod makes char devices and fifos', { skip: needs('root') }, () => {
  const dir = tempDir();
  try {
    mknod(path.join(dir, 'null'), 'char', 0o666, 1, 3);
    mknod(path.join(dir, 'wh'), 'char', 0, 0, 0);
    mknod(path.join(dir, 'fifo'), 'fifo', 0o600);
    const st = fs.lstatSync(path.join(dir, 'null'));
    assert.ok(st.isCharacterDevice());
    assert.equal(majorOf(st.rdev), 1);
    assert.equal(minorOf(st.rdev), 3);
    assert.equal(fs.lstatSync(path.join(dir, 'wh')).rdev, 0);
    assert.equal(fs.lstatSync(path.join(dir, 'wh')).mode & 0o7777, 0);
    assert.ok(fs.lstatSync(path.join(dir, 'fifo')).isFIFO());
    assert.throws(() => mknod(path.join(dir, 'fifo'), 'fifo', 0o600), /mknod `.*fifo`: EEXIST/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('flock excludes another process and is dropped when it dies', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'lock');
  try {
    const child = spawn('flock', ['-x', '-o', file, 'sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      let blocked = false;
      for (let i = 0; i < 200 && !blocked; i++) {
        // The child may not hold it yet: a lock we got is released at once and we retry.
        const got = tryLock(file, 'shared');
        if (got === undefined) blocked = true;
        else {
          got.release();
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      assert.ok(blocked, 'the child holds the lock');
    } finally {
      // The whole group: flock and the sleep it runs, so nothing outlives the test.
      process.kill(-child.pid!, 'SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    const held = tryLock(file, 'exclusive');
    assert.ok(held);
    assert.equal(tryLock(file, 'exclusive'), undefined, 'a second flock on a new fd conflicts');
    held.release();
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('mount and umount a tmpfs', { skip: needs('root') }, () => {
  const dir = tempDir();
  try {
    mount({ source: 'skiff-test', target: dir, fstype: 'tmpfs', data: 'size=1m' });
    assert.match(fs.readFileSync('/proc/mounts', 'utf8'), new RegExp(`skiff-test ${dir} tmpfs`));
    umount(dir);
    assert.doesNotMatch(fs.readFileSync('/proc/mounts', 'utf8'), new RegExp(` ${dir} `));
    assert.throws(() => umount(dir), /umount `.*`: EINVAL/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});
