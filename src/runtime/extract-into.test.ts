import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { buildTar, chunksOf } from '../archive/layer-testing.js';
import { needs } from '../util/test-requirements.js';
import { tempDir } from './bundle-testing.js';
import { extractInto } from './extract-into.js';
import { tarOfPath } from './tar-of-path.js';

describe('extractInto: a cp tar merged into an existing directory', { skip: needs('root') }, () => {
  let base: string;
  let n = 0;
  const fresh = (): string => {
    const dir = path.join(base, `t${n++}`);
    fs.mkdirSync(dir);
    return dir;
  };
  const file = (name: string, text: string, extra: object = {}) => ({
    entry: { name, mode: 0o644, ...extra },
    data: Buffer.from(text),
  });
  before(() => {
    base = tempDir('extract-into');
  });
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  test('merges into directories that are there, replaces a symlink in the way instead of writing through it', async () => {
    const dir = fresh();
    const outside = fresh();
    fs.mkdirSync(path.join(dir, 'keep'));
    fs.writeFileSync(path.join(dir, 'keep', 'old'), 'old');
    fs.symlinkSync(outside, path.join(dir, 'link'));
    const tar = await buildTar([
      { entry: { name: 'keep/', type: 'dir', mode: 0o750 } },
      file('keep/new', 'new'),
      file('link', 'a file now'),
    ]);
    await extractInto(dir, chunksOf(tar));
    assert.equal(fs.readFileSync(path.join(dir, 'keep', 'old'), 'utf8'), 'old');
    assert.equal(fs.readFileSync(path.join(dir, 'keep', 'new'), 'utf8'), 'new');
    assert.equal(fs.statSync(path.join(dir, 'keep')).mode & 0o777, 0o750, 'the archive’s mode');
    assert.ok(fs.lstatSync(path.join(dir, 'link')).isFile());
    assert.deepEqual(fs.readdirSync(outside), [], 'nothing written through the link');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['keep', 'link'], 'no staging directory left');
  });

  test('refused archives leave the directory as it was', async () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'f'), 'there');
    const cases: [Buffer, RegExp][] = [
      [await buildTar([file('a', '1'), file('../../escape', '2')]), /escapes the layer root/],
      [await buildTar([file('a', '1'), file('.wh.f', '')]), /reserved for layer whiteouts/],
      [
        await buildTar([{ entry: { name: 'l', type: 'symlink', linkname: '/' } }, file('l/etc/x', 'no')]),
        /parent `l` is a symlink/,
      ],
    ];
    for (const [tar, message] of cases) await assert.rejects(extractInto(dir, chunksOf(tar)), message);
    assert.deepEqual(fs.readdirSync(dir), ['f']);
    assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'there');
  });

  test('noOverwriteDirNonDir and mount points are checked before anything moves', async () => {
    const dir = fresh();
    fs.mkdirSync(path.join(dir, 'd'));
    fs.writeFileSync(path.join(dir, 'mounted'), 'bound');
    const dirForFile = await buildTar([file('first', '1'), file('d', 'a file')]);
    await assert.rejects(
      extractInto(dir, chunksOf(dirForFile), { noOverwriteDirNonDir: true }),
      /cannot overwrite directory `.*\/d` with a non-directory/,
    );
    const ontoMount = await buildTar([file('first', '1'), file('mounted', 'replaced')]);
    await assert.rejects(
      extractInto(dir, chunksOf(ontoMount), { mountPoints: [path.join(dir, 'mounted')] }),
      /is or holds a mount point/,
    );
    assert.deepEqual(fs.readdirSync(dir).sort(), ['d', 'mounted'], 'not even `first` was put down');
    // Without the flag a directory may be replaced, as Docker does.
    await extractInto(dir, chunksOf(dirForFile));
    assert.equal(fs.readFileSync(path.join(dir, 'd'), 'utf8'), 'a file');
  });

  test('rebase and owner: the top entry under a new name, everything root’s', async () => {
    const src = fresh();
    fs.mkdirSync(path.join(src, 'tree', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'tree', 'sub', 'f'), 'x');
    fs.linkSync(path.join(src, 'tree', 'sub', 'f'), path.join(src, 'tree', 'hard'));
    fs.chownSync(path.join(src, 'tree', 'sub', 'f'), 1234, 1234);
    const dir = fresh();
    await extractInto(dir, tarOfPath(path.join(src, 'tree'), 'tree'), {
      rebase: { from: 'tree', to: 'renamed' },
      owner: { uid: 0, gid: 0 },
    });
    const f = fs.statSync(path.join(dir, 'renamed', 'sub', 'f'));
    assert.deepEqual([f.uid, f.gid], [0, 0]);
    assert.equal(f.ino, fs.statSync(path.join(dir, 'renamed', 'hard')).ino, 'the hard link kept');
    // "." is a directory's content: into an existing directory as it is.
    await extractInto(dir, tarOfPath(path.join(src, 'tree', 'sub'), '.'));
    assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'x');
  });
});
