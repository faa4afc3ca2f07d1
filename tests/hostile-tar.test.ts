/**
 * Crafted tars through the CLI: a negative GNU base-256 size, a PAX mtime of 400 digits and
 * xattrs the file system refuses once came back as Node's or the kernel's messages (`The value
 * of "value" is out of range`, `Received type number (Infinity)`, a raw EOPNOTSUPP with a temp
 * path). Each is one line naming the entry and the field, and the store is left as it was.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fixChecksum, tarWithPax } from '../src/archive/fuzz-testing.js';
import { buildTar } from '../src/archive/layer-testing.js';
import { needs } from '../src/util/test-requirements.js';
import { oneLineError, sandbox, snapshotDiff, storeSnapshot } from './helpers.js';

describe('crafted tars are refused with one line of our own', { skip: needs('root') }, () => {
  it('import: negative size, huge mtime, refused xattrs; the store stays clean', async (t) => {
    const s = sandbox(t, 'skiff-hostile-tar-');
    await s.ok(['images']);
    const negative = await buildTar([{ entry: { name: 'etc/motd' }, data: Buffer.from('hello') }]);
    negative.fill(0xff, 124, 136);
    negative[135] = 0xf0;
    fixChecksum(negative.subarray(0, 512));
    const cases: [string, Buffer, RegExp][] = [
      [
        'negative-size',
        negative,
        /^Error: read tar: entry `etc\/motd` at byte 0: field `size` is negative: -16$/,
      ],
      [
        'mtime',
        tarWithPax([['mtime', '9'.repeat(400)]], { name: 'stamp' }),
        /^Error: read tar: entry `stamp` at byte 1024: PAX record `mtime=9+…` is out of range/,
      ],
      [
        'xattr-namespace',
        tarWithPax([['SCHILY.xattr.bogus.ns', 'v']], { name: 'odd' }),
        /^Error: apply layer: entry `odd`: xattr `bogus\.ns` \(1 bytes\): the file system does not support its namespace \(EOPNOTSUPP\)$/,
      ],
      [
        'xattr-size',
        tarWithPax([['SCHILY.xattr.user.big', 'v'.repeat(70_000)]], { name: 'big' }),
        /^Error: apply layer: entry `big`: xattr `user\.big` \(70000 bytes\): its value is too large \(E2BIG\)$/,
      ],
    ];
    for (const [label, tar, message] of cases) {
      const file = path.join(s.dir, `${label}.tar`);
      fs.writeFileSync(file, tar);
      const before = storeSnapshot(s.root);
      const r = await s.skiff(['import', file, `${label}:1`]);
      assert.notEqual(r.code, 0, label);
      const line = oneLineError(r.stderr);
      assert.match(line, message);
      assert.ok(!line.includes(s.root), `no store path in ${line}`);
      assert.deepEqual(snapshotDiff(before, storeSnapshot(s.root)), [], label);
      const report = await s.check();
      assert.deepEqual(report.problems, []);
      assert.deepEqual(report.garbage, { tempFiles: 0, unreferencedBlobs: 0, unreferencedLayers: 0 });
      assert.deepEqual(fs.readdirSync(path.join(s.root, 'tmp')), []);
    }
  });
});
