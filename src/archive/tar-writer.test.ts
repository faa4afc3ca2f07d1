import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DataLoss, InvalidArgument } from '../util/errors.js';
import { encodeHeader, paddingFor, type TarEntry } from './tar-header.js';
import { readTar } from './tar-reader.js';
import { writeTar, type WriteEntry } from './tar-writer.js';
import { needs } from '../util/test-requirements.js';

const exec = promisify(execFile);

const MTIME = 1_700_000_000;
const random = randomBytes(300_000 + 17);
const binaryXattr = Buffer.from([0x61, 0x00, 0xff, 0x0a, 0x3d, 0x00]);
const longDir = `d/${'a'.repeat(80)}`;
const splitName = `${longDir}/${'b'.repeat(90)}`; // > 100, fits ustar prefix + name
const paxName = `d/${'c'.repeat(200)}/${'e'.repeat(120)}`; // > 255 and no split fits
const longTarget = `${'x/'.repeat(100)}target`;
const unicode = 'd/héllo-ünïcode-日本.txt';

function entry(name: string, type: TarEntry['type'], more: Partial<TarEntry> = {}): TarEntry {
  return { name, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0, mtime: MTIME, ...more };
}

function file(name: string, data: Buffer, more: Partial<TarEntry> = {}): WriteEntry {
  return { entry: entry(name, 'file', { size: data.length, ...more }), body: data };
}

const entries: WriteEntry[] = [
  { entry: entry('d', 'dir') },
  file('d/hello.txt', Buffer.from('hello\n'), { uid: 1000, gid: 1000, uname: 'someone', gname: 'somegroup' }),
  file('d/empty', Buffer.alloc(0)),
  file('d/random.bin', random, { mtime: MTIME + 0.75 }),
  { entry: entry(longDir, 'dir') },
  file(splitName, Buffer.from('split\n')),
  file(paxName, Buffer.from('pax\n')),
  { entry: entry('d/link', 'symlink', { linkname: 'hello.txt', mode: 0o777 }) },
  { entry: entry('d/longlink', 'symlink', { linkname: longTarget, mode: 0o777 }) },
  { entry: entry('d/hard', 'hardlink', { linkname: 'd/hello.txt' }) },
  { entry: entry('d/null', 'char', { mode: 0o666, devmajor: 1, devminor: 3 }) },
  { entry: entry('d/loop', 'block', { mode: 0o660, devmajor: 7, devminor: 300 }) },
  { entry: entry('d/fifo', 'fifo', { mode: 0o600 }) },
  file('d/zero-mode', Buffer.from('no permissions\n'), { mode: 0 }),
  file('d/suid', Buffer.from('#!/bin/sh\n'), { mode: 0o4755 }),
  file('d/sgid', Buffer.from('#!/bin/sh\n'), { mode: 0o2711 }),
  { entry: entry('d/sticky', 'dir', { mode: 0o1777 }) },
  file('d/big-ids', Buffer.from('ids\n'), { uid: 3_000_000, gid: 4_000_000 }),
  file(unicode, Buffer.from('unicode\n'), { uname: 'ユーザー' }),
  { entry: entry('d/unicode-link', 'symlink', { linkname: 'héllo-ünïcode-日本.txt', mode: 0o777 }) },
  { entry: entry('d/opaque', 'dir', { xattrs: new Map([['trusted.overlay.opaque', Buffer.from('y')]]) }) },
  file('d/xattrs', Buffer.from('xattrs\n'), {
    xattrs: new Map([
      ['user.binary', binaryXattr],
      ['user.text', Buffer.from('hello world')],
    ]),
  }),
];

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function getxattr(path: string, name: string): Promise<Buffer> {
  const script =
    'import os,sys; sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).hex())';
  const { stdout } = await exec('python3', ['-c', script, path, name]);
  return Buffer.from(stdout, 'hex');
}

describe('writeTar → GNU tar', { skip: needs('root') }, () => {
  let dir: string;
  let archive: string;
  let dest: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-tar-writer-'));
    archive = join(dir, 'out.tar');
    dest = join(dir, 'x');
    await pipeline(writeTar(entries), createWriteStream(archive));
    await exec('mkdir', [dest]);
    await exec('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', archive, '-C', dest]);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('tar -tvf lists every entry without warnings', async () => {
    const { stdout, stderr } = await exec('tar', ['--xattrs', '-tvvf', archive]);
    assert.equal(stderr, '');
    const names = stdout.split('\n').filter((line) => /^[-dlhcbp]/.test(line));
    assert.equal(names.length, entries.length);
    assert.match(stdout, /ユーザー/);
  });

  test('files, modes, owners and times', async () => {
    for (const { entry: e, body } of entries) {
      if (e.type === 'hardlink') continue;
      const path = join(dest, e.name);
      const st = await lstat(path);
      assert.equal(st.mode & 0o7777, e.mode, `${e.name} mode`);
      if (e.type === 'symlink') {
        assert.ok(st.isSymbolicLink(), e.name);
        assert.equal(await readlink(path), e.linkname);
        continue;
      }
      assert.equal(st.uid, e.uid, `${e.name} uid`);
      assert.equal(st.gid, e.gid, `${e.name} gid`);
      assert.equal(st.mtimeMs / 1000, Math.floor(e.mtime), `${e.name} mtime`);
      if (e.type === 'file') {
        assert.ok(st.isFile(), e.name);
        assert.deepEqual(await readFile(path), body);
      }
      if (e.type === 'dir') assert.ok(st.isDirectory(), e.name);
      if (e.type === 'fifo') assert.ok(st.isFIFO(), e.name);
      if (e.type === 'char' || e.type === 'block') {
        assert.ok(e.type === 'char' ? st.isCharacterDevice() : st.isBlockDevice(), e.name);
        const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
        const minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & ~0xffn));
        assert.deepEqual([major, minor], [e.devmajor, e.devminor], e.name);
      }
    }
  });

  test('hardlinks share the inode', async () => {
    const [a, b] = await Promise.all([lstat(join(dest, 'd/hard')), lstat(join(dest, 'd/hello.txt'))]);
    assert.equal(a.ino, b.ino);
  });

  test('xattrs are binary-safe', async () => {
    assert.deepEqual(await getxattr(join(dest, 'd/opaque'), 'trusted.overlay.opaque'), Buffer.from('y'));
    assert.deepEqual(await getxattr(join(dest, 'd/xattrs'), 'user.binary'), binaryXattr);
    assert.deepEqual(await getxattr(join(dest, 'd/xattrs'), 'user.text'), Buffer.from('hello world'));
  });
});

describe('writeTar', () => {
  test('reads back through readTar', async () => {
    const reader = readTar(writeTar(entries));
    let i = 0;
    for await (const { entry: got, body } of reader) {
      const want = entries[i++]!;
      const name = want.entry.type === 'dir' ? `${want.entry.name}/` : want.entry.name;
      assert.deepEqual(got, { ...want.entry, name, mtime: Math.floor(want.entry.mtime) });
      assert.deepEqual(await collect(body), want.body ?? Buffer.alloc(0));
    }
    assert.equal(i, entries.length);
  });

  test('is deterministic and uses ustar only when it suffices', async () => {
    assert.deepEqual(await collect(writeTar(entries)), await collect(writeTar(entries)));
    const plain = encodeHeader(entry(splitName, 'file'));
    assert.equal(plain.length, 512);
    assert.equal(plain.toString('latin1', 257, 265), 'ustar\x0000');
    const pax = encodeHeader(entry(paxName, 'file'));
    assert.equal(pax.length, 512 * 3);
    assert.equal(String.fromCharCode(pax[156]!), 'x');
    assert.equal(pax.toString('latin1', 0, 100), `PaxHeaders/${'e'.repeat(89)}`);
    const huge = encodeHeader(entry('huge', 'file', { size: 2 ** 33 + 1, mtime: -5 }));
    assert.match(huge.toString('latin1', 512, 1024), /^\d+ size=8589934593\n\d+ mtime=-5\n\0/);
    assert.equal(huge.toString('latin1', 512 + 512 + 124, 512 + 512 + 136), '00000000000\0');
  });

  test('pads data to the block size', () => {
    assert.equal(paddingFor(0).length, 0);
    assert.equal(paddingFor(1).length, 511);
    assert.equal(paddingFor(512).length, 0);
    assert.equal(paddingFor(1000).length, 24);
  });

  test('rejects a body of the wrong size', async () => {
    const short = [{ entry: entry('f', 'file', { size: 10 }), body: Buffer.from('abc') }];
    await assert.rejects(collect(writeTar(short)), (err: unknown) => {
      assert.ok(err instanceof DataLoss);
      assert.equal(err.message, 'write tar: entry `f`: body gave 3 of 10 bytes');
      return true;
    });
    const long = [{ entry: entry('f', 'file', { size: 2 }), body: Buffer.from('abc') }];
    await assert.rejects(collect(writeTar(long)), DataLoss);
  });

  test('rejects entries that cannot be encoded', () => {
    assert.throws(() => encodeHeader(entry('', 'file')), InvalidArgument);
    assert.throws(() => encodeHeader(entry('a\0b', 'file')), /NUL/);
    assert.throws(() => encodeHeader(entry('l', 'symlink')), /missing linkname/);
    assert.throws(() => encodeHeader(entry('d', 'dir', { size: 3 })), /size 3 on a dir/);
    assert.throws(() => encodeHeader(entry('c', 'char', { devmajor: 0o10000000 })), /devmajor/);
    const xattrs = new Map([['user.a=b', Buffer.from('x')]]);
    assert.throws(() => encodeHeader(entry('f', 'file', { xattrs })), /xattr name/);
  });
});
