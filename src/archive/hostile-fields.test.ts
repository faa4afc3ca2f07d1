/**
 * Header fields no honest tar has, which once reached Node or the kernel and came back as their
 * messages (`The value of "value" is out of range`, `Received type number (Infinity)`, a raw
 * EOPNOTSUPP with a temp path): each is now one line of skiff's own, naming the archive entry and
 * the field, and nothing is written outside the layer's root.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidArgument } from '../util/errors.js';
import { needs } from '../util/test-requirements.js';
import { applyLayer } from './apply-layer.js';
import { fixChecksum, tarWithPax } from './fuzz-testing.js';
import { buildTar, chunksOf, surroundings, tempDir } from './layer-testing.js';
import { TarSplitWriter } from './tar-split.js';

describe('hostile header fields', { skip: needs('root') }, () => {
  let dir: string;
  let count = 0;

  before(() => {
    dir = tempDir('hostile-fields');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Applies `tar` (with the tar-split recorder, as the layer store does): the error it gives. */
  async function refusal(tar: Buffer): Promise<InvalidArgument> {
    const base = path.join(dir, `case-${count++}`);
    const root = path.join(base, 'root');
    fs.mkdirSync(root, { recursive: true });
    const recorder = new TarSplitWriter(path.join(base, 'split.gz'));
    const around = surroundings(dir, root);
    let error: unknown;
    try {
      await applyLayer(chunksOf(tar, 700), root, { recorder });
    } catch (err) {
      error = err;
    } finally {
      await recorder.close();
    }
    assert.ok(error instanceof InvalidArgument, `refused with InvalidArgument, got ${String(error)}`);
    assert.ok(!error.message.includes('\n'), 'one line');
    assert.ok(!error.message.includes(dir), `no temp path in ${error.message}`);
    const now = surroundings(dir, root);
    // The record is the recorder's to write: what it holds is checked where the tar is rebuilt.
    now.delete(path.relative(dir, path.join(base, 'split.gz')));
    around.delete(path.relative(dir, path.join(base, 'split.gz')));
    assert.deepEqual(now, around, 'nothing written outside the root');
    return error;
  }

  test('a negative GNU base-256 size names the entry and the field', async () => {
    const tar = await buildTar([{ entry: { name: 'neg' }, data: Buffer.from('hello') }]);
    tar.fill(0xff, 124, 136);
    tar[135] = 0xf0; // -16
    fixChecksum(tar.subarray(0, 512));
    const err = await refusal(tar);
    assert.match(err.message, /^read tar: entry `neg` at byte 0: field `size` is negative: -16$/);
  });

  test('negative uid, gid and device numbers are refused the same way', async () => {
    for (const [offset, field] of [
      [108, 'uid'],
      [116, 'gid'],
      [329, 'devmajor'],
    ] as const) {
      const tar = await buildTar([{ entry: { name: 'dev', type: 'char', devmajor: 1, devminor: 3 } }]);
      tar.fill(0xff, offset, offset + 8);
      fixChecksum(tar.subarray(0, 512));
      const err = await refusal(tar);
      assert.match(err.message, new RegExp(`entry \`dev\` at byte 0: field \`${field}\` is negative: -1$`));
    }
  });

  test('a PAX mtime of 400 digits, on a file and on a directory', async () => {
    for (const [type, value] of [
      ['file', '9'.repeat(400)],
      ['dir', `-${'9'.repeat(400)}`],
      ['file', '1e400'],
    ] as const) {
      const err = await refusal(tarWithPax([['mtime', value]], { name: 'when', type }));
      assert.match(err.message, /^read tar: entry `when\/?` at byte 1024: PAX record `mtime=/);
      assert.ok(/out of range|is not a number/.test(err.message), err.message);
      assert.ok(err.message.length < 300, 'the value is cut short');
    }
  });

  test('a PAX uid past 32 bits', async () => {
    const err = await refusal(tarWithPax([['uid', '99999999999']], { name: 'who' }));
    assert.match(err.message, /entry `who` at byte 1024: field `uid` is 99999999999, more than 4294967294$/);
  });

  test('xattrs the file system refuses: an unknown namespace, a value too large', async () => {
    const unknown = await refusal(tarWithPax([['SCHILY.xattr.bogus.ns', 'v']], { name: 'odd' }));
    assert.match(
      unknown.message,
      /^apply layer: entry `odd`: xattr `bogus\.ns` \(1 bytes\): the file system does not support its namespace \(EOPNOTSUPP\)$/,
    );
    const big = await refusal(tarWithPax([['SCHILY.xattr.user.big', 'v'.repeat(70_000)]], { name: 'big' }));
    assert.match(
      big.message,
      /^apply layer: entry `big`: xattr `user\.big` \(70000 bytes\): its value is too large \(E2BIG\)$/,
    );
  });

  test('an empty xattr name, and a NUL in a link target', async () => {
    const empty = await refusal(tarWithPax([['SCHILY.xattr.', 'v']], { name: 'x' }));
    assert.match(empty.message, /entry `x` at byte 1024: xattr name `` is empty or has a NUL byte$/);
    const link = await refusal(
      tarWithPax([['linkpath', 'a\0b']], { name: 'l', type: 'symlink', linkname: 'a' }),
    );
    assert.match(link.message, /entry `l` at byte 1024: link target `a\?b` contains a NUL byte$/);
  });

  test('device numbers Linux cannot hold, and names longer than it takes', async () => {
    const dev = await refusal(
      await buildTar([{ entry: { name: 'dev', type: 'block', devmajor: 4096, devminor: 0 } }]),
    );
    assert.match(dev.message, /^apply layer: entry `dev`: device number 4096:0 is out of range/);
    const long = await refusal(tarWithPax([['path', `d/${'x'.repeat(300)}`]], { name: 'short' }));
    assert.match(long.message, /^apply layer: entry `d\/x{198}…`: a name component is over 255 bytes/);
  });
});
