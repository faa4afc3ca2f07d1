import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataLoss, NotFound } from '../util/errors.js';
import { applyLayer } from './apply-layer.js';
import { buildTar, chunksOf, collect, exec, makeTree, sha256, tempDir } from './layer-testing.js';
import { TarSplitWriter, reassembleTar } from './tar-split.js';
import { needs } from '../util/test-requirements.js';

describe('tar-split', { skip: needs('root') }, () => {
  let dir: string;
  let count = 0;

  before(() => {
    dir = tempDir('tar-split');
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Unpacks `archive` with a recorder; returns the layer root and its record. */
  async function unpack(archive: Buffer, chunkSize?: number): Promise<{ root: string; split: string }> {
    const n = count++;
    const root = path.join(dir, `layer-${n}`);
    const split = path.join(dir, `layer-${n}.split.gz`);
    fs.mkdirSync(root);
    const writer = new TarSplitWriter(split);
    try {
      await applyLayer(chunksOf(archive, chunkSize), root, { recorder: writer });
    } finally {
      await writer.close();
    }
    return { root, split };
  }

  for (const format of ['gnu', 'posix', 'ustar']) {
    test(`--format=${format}: reassembly is byte-identical`, async () => {
      const tree = path.join(dir, `tree-${format}`);
      fs.mkdirSync(tree);
      makeTree(tree, { ustar: format === 'ustar' });
      const xattrs = format === 'posix' ? ['--xattrs', '--xattrs-include=*'] : [];
      const file = path.join(dir, `${format}.tar`);
      await exec('tar', [`--format=${format}`, ...xattrs, '-C', tree, '-cf', file, '.']);
      const archive = fs.readFileSync(file);
      const { root, split } = await unpack(archive);
      assert.ok(fs.statSync(split).size < archive.length / 20, 'the record is small');

      const rebuilt = await collect(reassembleTar(split, root));
      assert.equal(sha256(rebuilt), sha256(archive));

      fs.appendFileSync(path.join(root, 'd/a-b'), '!');
      await assert.rejects(collect(reassembleTar(split, root)), (err: Error) => {
        assert.ok(err instanceof DataLoss, err.stack);
        assert.match(err.message, /file `d\/a-b`: size is \d+, the record says \d+/);
        return true;
      });
    });
  }

  test('whiteouts with data, aufs entries, repeated dirs and >1 MiB of headers reassemble', async () => {
    const entries: Parameters<typeof buildTar>[0] = [
      { entry: { name: './', type: 'dir' } },
      { entry: { name: 'x/', type: 'dir', mode: 0o700 } },
      { entry: { name: 'x/.wh.big' }, data: Buffer.alloc(3 << 20, 7) },
      { entry: { name: '.wh..wh.plnk/', type: 'dir' } },
      { entry: { name: '.wh..wh.plnk/1.2' }, data: Buffer.from('aufs') },
      { entry: { name: 'x/', type: 'dir', mode: 0o750 } },
      { entry: { name: 'x/.wh..wh..opq' } },
    ];
    for (let i = 0; i < 3000; i++) entries.push({ entry: { name: `many/${i}` }, data: Buffer.from(`${i}`) });
    entries.push({ entry: { name: 'empty' } });
    const archive = await buildTar(entries);
    const { root, split } = await unpack(archive, 1000);
    const rebuilt = await collect(reassembleTar(split, root));
    assert.equal(sha256(rebuilt), sha256(archive));
  });

  test('a file that is missing or no longer a regular file is DataLoss naming it', async () => {
    const archive = await buildTar([
      { entry: { name: 'a' }, data: Buffer.from('aaa') },
      { entry: { name: 'b' }, data: Buffer.from('bbb') },
    ]);
    const { root, split } = await unpack(archive);
    fs.rmSync(path.join(root, 'a'));
    fs.symlinkSync('b', path.join(root, 'a'));
    await assert.rejects(collect(reassembleTar(split, root)), {
      name: 'DataLoss',
      message: /file `a`: no longer a regular file/,
    });
    fs.rmSync(path.join(root, 'a'));
    await assert.rejects(collect(reassembleTar(split, root)), /file `a`: missing from the layer/);
  });

  test('a missing or damaged record', async () => {
    const archive = await buildTar([{ entry: { name: 'a' }, data: Buffer.from('aaa') }]);
    const { root, split } = await unpack(archive);
    await assert.rejects(collect(reassembleTar(`${split}.absent`, root)), NotFound);
    const bytes = fs.readFileSync(split);
    fs.writeFileSync(split, bytes.subarray(0, bytes.length - 10));
    await assert.rejects(collect(reassembleTar(split, root)), DataLoss);
  });

  test('leaves no descriptor open when the consumer stops early', async () => {
    const archive = await buildTar([{ entry: { name: 'a' }, data: Buffer.alloc(5 << 20, 1) }]);
    const { root, split } = await unpack(archive);
    const fds = fs.readdirSync('/proc/self/fd').length;
    for await (const chunk of reassembleTar(split, root)) {
      assert.ok(chunk.length > 0);
      break;
    }
    // The record's read stream closes its fd asynchronously once destroyed: give it a moment.
    for (let i = 0; i < 50 && fs.readdirSync('/proc/self/fd').length !== fds; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(fs.readdirSync('/proc/self/fd').length, fds);
  });
});
