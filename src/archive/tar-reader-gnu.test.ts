import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { readTar } from './tar-reader.js';
import { asyncChunks, readAll } from './tar-testing.js';
import { needs } from '../util/test-requirements.js';

const exec = promisify(execFile);

describe('readTar ← GNU tar', { skip: needs('root') }, () => {
  let dir: string;
  let root: string;
  const all: string[] = [];
  const basic: string[] = [];
  const members = new Map<string, string[]>();
  const archives = new Map<string, Buffer>();

  async function add(name: string, make: (path: string) => Promise<unknown>, simple = false): Promise<void> {
    await make(join(root, name));
    all.push(name);
    if (simple) basic.push(name);
  }
  async function tar(label: string, names: string[], ...flags: string[]): Promise<void> {
    const out = join(dir, `${archives.size}.tar`);
    const format = label.replace(/\+.*/, '');
    await exec('tar', [`--format=${format}`, ...flags, '--no-recursion', '-cf', out, '-C', root, ...names]);
    archives.set(label, await readFile(out));
    members.set(label, names);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-tar-reader-'));
    root = join(dir, 'root');
    await mkdir(root);
    const words = ['layer', 'image', 'tar', 'header', 'digest', 'blob', 'entry', 'zstd', 'gzip'];
    const text = Array.from({ length: 4000 }, (_, i) => `${i} ${words[i % 9]} ${words[(i * 7) % 9]}\n`).join(
      '',
    );
    const py = (script: string, ...args: string[]) => exec('python3', ['-c', script, ...args]);
    const setxattr = 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]))';

    await add('d', (p) => mkdir(p), true);
    await add('d/hello.txt', (p) => writeFile(p, 'hello\n').then(() => chown(p, 1000, 1000)), true);
    await add('d/empty', (p) => writeFile(p, ''), true);
    await add(
      'd/random.bin',
      (p) => writeFile(p, randomBytes(200_013)).then(() => utimes(p, 1.5e9, 1.5e9 + 0.25)),
      true,
    );
    await add('d/text.txt', (p) => writeFile(p, text), true);
    await add('d/link', (p) => symlink('hello.txt', p), true);
    await add('d/hard', (p) => link(join(root, 'd/hello.txt'), p), true);
    await add('d/zero-mode', (p) => writeFile(p, 'x', { mode: 0 }), true);
    await add('d/suid', (p) => writeFile(p, '#!/bin/sh\n', { mode: 0o4755 }), true);
    await add('d/sticky', (p) => mkdir(p, { mode: 0o1777 }), true);
    await add('d/null', (p) => exec('mknod', ['-m', '666', p, 'c', '1', '3']));
    await add('d/loop', (p) => exec('mknod', ['-m', '660', p, 'b', '7', '300']));
    await add('d/fifo', (p) => exec('mkfifo', ['-m', '600', p]));
    await add('d/héllo-日本.txt', (p) => writeFile(p, 'unicode\n'));
    const split = `d/${'a'.repeat(80)}`;
    await add(split, (p) => mkdir(p));
    await add(`${split}/${'b'.repeat(90)}`, (p) => writeFile(p, 'split\n'));
    const deep = `d/${'c'.repeat(200)}`;
    await add(deep, (p) => mkdir(p));
    await add(`${deep}/${'e'.repeat(120)}`, (p) => writeFile(p, 'long\n'));
    await add('d/longlink', (p) => symlink(`${'x/'.repeat(100)}target`, p));
    await add('d/big-ids', (p) => writeFile(p, 'ids\n').then(() => chown(p, 3_000_000, 4_000_000)));
    await add('d/opaque', (p) => mkdir(p).then(() => py(setxattr, p, 'trusted.overlay.opaque', '79')));
    await add('d/xattrs', async (p) => {
      await writeFile(p, 'xattrs\n');
      await py(setxattr, p, 'user.binary', '6100ff0a3d00');
      await py(setxattr, p, 'user.text', Buffer.from('hello world').toString('hex'));
    });

    const ustar = all.filter((n) => !n.startsWith(deep) && n !== 'd/longlink' && n !== 'd/big-ids');
    await tar('gnu', all);
    await tar('oldgnu', all);
    await tar('posix', all, '--xattrs', '--xattrs-include=*');
    await tar('posix+global', basic, '--pax-option=uname=globaluser,comment=hi');
    await tar('ustar', ustar);
    await tar('v7', basic);
    const small = all.filter((name) => name !== 'd/random.bin' && name !== 'd/text.txt');
    await tar('gnu+small', small);
    await tar('posix+small', small, '--xattrs', '--xattrs-include=*');
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function check(format: string, chunkSize?: number): Promise<void> {
    const entries = await readAll(archives.get(format)!, chunkSize);
    assert.deepEqual(
      new Set(entries.map(({ entry: e }) => e.name.replace(/\/$/, ''))),
      new Set(members.get(format)),
    );
    assert.equal(entries.length, members.get(format)!.length);
    for (const { entry: e, data } of entries) {
      const path = join(root, e.name);
      const st = await lstat(path);
      const what = `${format} ${e.name}`;
      assert.equal(e.mode, st.mode & 0o7777, what);
      assert.equal(e.uid, st.uid, what);
      assert.equal(e.gid, st.gid, what);
      if (format.startsWith('posix')) assert.ok(Math.abs(e.mtime - st.mtimeMs / 1000) < 1e-3, what);
      else assert.equal(e.mtime, Math.floor(st.mtimeMs / 1000), what);
      if (format === 'posix+global') assert.equal(e.uname, 'globaluser');
      if (e.type === 'hardlink') {
        assert.equal((await lstat(join(root, e.linkname!))).ino, st.ino, what);
        continue;
      }
      const type = st.isFile()
        ? 'file'
        : st.isDirectory()
          ? 'dir'
          : st.isSymbolicLink()
            ? 'symlink'
            : undefined;
      const special = st.isFIFO()
        ? 'fifo'
        : st.isCharacterDevice()
          ? 'char'
          : st.isBlockDevice()
            ? 'block'
            : type;
      assert.equal(e.type, special, what);
      if (e.type === 'dir') assert.ok(e.name.endsWith('/'), what);
      if (e.type === 'file') {
        assert.equal(e.size, st.size, what);
        assert.ok(data.equals(await readFile(path)), what);
      } else assert.equal(data.length, 0, what);
      if (e.type === 'symlink') assert.equal(e.linkname, await readlink(path), what);
      if (e.type === 'char' || e.type === 'block') {
        assert.deepEqual([e.devmajor, e.devminor], e.name === 'd/null' ? [1, 3] : [7, 300], what);
      }
    }
    if (format === 'posix' || format === 'posix+small') {
      const byName = new Map(entries.map(({ entry: e }) => [e.name, e]));
      assert.deepEqual(
        byName.get('d/opaque/')!.xattrs,
        new Map([['trusted.overlay.opaque', Buffer.from('y')]]),
      );
      assert.deepEqual(
        byName.get('d/xattrs')!.xattrs,
        new Map([
          ['user.binary', Buffer.from('6100ff0a3d00', 'hex')],
          ['user.text', Buffer.from('hello world')],
        ]),
      );
    }
  }

  for (const format of ['gnu', 'oldgnu', 'posix', 'posix+global', 'ustar', 'v7']) {
    test(`--format=${format}: entries match the tree, bytes reassemble exactly`, () => check(format));
  }

  test('chunk boundaries anywhere: 1, 7, 511, 513 and 4099-byte chunks', async () => {
    for (const size of [1, 7]) {
      for (const format of ['gnu+small', 'posix+small']) await check(format, size);
    }
    for (const size of [511, 513, 4099]) {
      for (const format of ['gnu', 'posix']) await check(format, size);
    }
  });

  test('bodies left unread are skipped', async () => {
    const reader = readTar(asyncChunks(archives.get('gnu')!, 1000));
    let count = 0;
    for await (const _ of reader) count++;
    assert.equal(count, all.length);
    assert.ok(reader.trailer.length >= 1024);
  });
});
