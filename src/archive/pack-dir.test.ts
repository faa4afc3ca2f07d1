import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mknod } from '../sys/nodes.js';
import { setXattr } from '../sys/xattr.js';
import { InvalidArgument } from '../util/errors.js';
import { applyLayer } from './apply-layer.js';
import { chunksOf, collect, exec, makeTree, snapshot, tempDir } from './layer-testing.js';
import { packDir } from './pack-dir.js';
import { readTar } from './tar-reader.js';
import type { TarEntry } from './tar-header.js';
import { needs } from '../util/test-requirements.js';

async function entriesOf(archive: Buffer): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const { entry } of readTar(chunksOf(archive))) out.push(entry);
  return out;
}

describe('packDir', { skip: needs('root') }, () => {
  let dir: string;
  let tree: string;
  let upper: string;

  before(() => {
    dir = tempDir('pack-dir');
    tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    makeTree(tree);
    // An overlay upper dir: the tree plus whiteouts and an opaque directory.
    upper = path.join(dir, 'upper');
    fs.mkdirSync(upper);
    makeTree(upper);
    fs.chmodSync(path.join(upper, 'd/locked'), 0o700);
    mknod(path.join(upper, 'd/locked/removed'), 'char', 0, 0, 0);
    fs.mkdirSync(path.join(upper, 'opaque'));
    fs.writeFileSync(path.join(upper, 'opaque/new'), 'new\n');
    setXattr(path.join(upper, 'opaque'), 'trusted.overlay.opaque', Buffer.from('y'));
    setXattr(path.join(upper, 'opaque'), 'user.other', Buffer.from('kept'));
    mknod(path.join(upper, 'gone'), 'char', 0, 0, 0);
    fs.lutimesSync(path.join(upper, 'gone'), 1.6e9, 1.6e9);
    fs.utimesSync(path.join(upper, 'opaque'), 1.6e9, 1.6e9);
    fs.chmodSync(path.join(upper, 'd/locked'), 0);
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('GNU tar extracts it to the same tree', async () => {
    const archive = await collect(packDir(tree));
    const out = path.join(dir, 'gnu');
    fs.mkdirSync(out);
    const file = path.join(dir, 'packed.tar');
    fs.writeFileSync(file, archive);
    await exec('tar', ['-xpf', file, '--xattrs', '--xattrs-include=*', '-C', out]);
    assert.deepEqual(snapshot(out, { root: false }), snapshot(tree, { root: false, seconds: true }));
  });

  test('names, order, hardlinks', async () => {
    const entries = await entriesOf(await collect(packDir(tree)));
    const names = entries.map((e) => e.name);
    assert.ok(names.every((n) => !n.startsWith('./') && !n.startsWith('/')));
    assert.ok(entries.every((e) => (e.type === 'dir') === e.name.endsWith('/')));
    assert.ok(entries.every((e) => e.uname === undefined && e.gname === undefined));
    const at = (name: string): number => names.indexOf(name);
    const split = `d/${'a'.repeat(80)}/`;
    const expected = [
      'd/',
      'd/a/',
      'd/a/b',
      'd/a-b',
      'd/a.b',
      split,
      `${split}${'b'.repeat(90)}`,
      'd/big-ids',
    ];
    assert.deepEqual(names.slice(at('d/'), at('d/') + expected.length), expected);
    assert.ok(at('d/héllo-日本-𝄞.txt') < at('d/link') && at('d/xdir/') < at('e/'));
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.deepEqual(
      [byName.get('d/hello.txt')?.type, byName.get('d/hello.txt')?.linkname],
      ['hardlink', 'd/hard'],
    );
    assert.equal(byName.get('e/text-again')?.linkname, 'd/text.txt');
    assert.deepEqual([byName.get('d/null')?.devmajor, byName.get('d/null')?.devminor], [1, 3]);
    assert.equal(byName.get('d/xattrs')?.xattrs?.get('trusted.skiff')?.toString(), 'root only');
  });

  test('overlayfs whiteouts become OCI whiteouts', async () => {
    const entries = await entriesOf(await collect(packDir(upper)));
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.deepEqual(
      [byName.get('.wh.gone')?.type, byName.get('.wh.gone')?.size, byName.get('.wh.gone')?.mtime],
      ['file', 0, 1.6e9],
    );
    assert.equal(byName.get('d/locked/.wh.removed')?.type, 'file');
    assert.ok(!byName.has('gone') && !byName.has('d/locked/removed'));
    const names = entries.map((e) => e.name);
    assert.equal(names[names.indexOf('opaque/') + 1], 'opaque/.wh..wh..opq');
    assert.deepEqual(byName.get('opaque/')?.xattrs, new Map([['user.other', Buffer.from('kept')]]));
  });

  test('packDir → applyLayer → packDir gives the same bytes', async () => {
    const first = await collect(packDir(upper));
    const root = path.join(dir, 'applied');
    fs.mkdirSync(root);
    await applyLayer(chunksOf(first, 100_000), root);
    assert.deepEqual(snapshot(root, { root: false }), snapshot(upper, { root: false, seconds: true }));
    const second = await collect(packDir(root));
    assert.ok(second.equals(first));
  });

  test('mtime clamps every time', async () => {
    const entries = await entriesOf(await collect(packDir(tree, { mtime: 1_500_010_000.7 })));
    assert.ok(entries.every((e) => e.mtime <= 1_500_010_000));
    assert.ok(entries.some((e) => e.mtime === 1_500_010_000));
  });

  test('leaves no descriptor open when the consumer stops inside a big file', async () => {
    const fds = fs.readdirSync('/proc/self/fd').length;
    let stopped = false;
    for await (const chunk of packDir(tree)) {
      if (chunk.length === 1 << 20) {
        stopped = true;
        break;
      }
    }
    assert.ok(stopped);
    assert.equal(fs.readdirSync('/proc/self/fd').length, fds);
  });

  test('a file named like a whiteout is refused', async () => {
    const root = path.join(dir, 'odd');
    fs.mkdirSync(path.join(root, 'x'), { recursive: true });
    fs.writeFileSync(path.join(root, 'x/.wh.f'), '');
    await assert.rejects(collect(packDir(root)), (err: Error) => {
      assert.ok(err instanceof InvalidArgument);
      assert.match(err.message, /entry `x\/\.wh\.f`: the name is reserved for whiteouts/);
      return true;
    });
  });
});
