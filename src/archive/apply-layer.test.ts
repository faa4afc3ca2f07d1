import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getXattr } from '../sys/xattr.js';
import { DataLoss, FailedPrecondition, InvalidArgument } from '../util/errors.js';
import { applyLayer } from './apply-layer.js';
import {
  buildTar,
  chunksOf,
  collect,
  exec,
  makeTree,
  snapshot,
  surroundings,
  tempDir,
  walk,
} from './layer-testing.js';
import { packDir } from './pack-dir.js';
import { readTar } from './tar-reader.js';
import { needs } from '../util/test-requirements.js';

const skip = needs('root');

describe('applyLayer', { skip }, () => {
  let dir: string;
  let tree: string;
  let count = 0;
  const fresh = (): string => {
    const root = path.join(dir, `root-${count++}`);
    fs.mkdirSync(root);
    return root;
  };

  before(() => {
    dir = tempDir('apply-layer');
    tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    makeTree(tree);
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const format of ['gnu', 'posix']) {
    test(`--format=${format}: the same tree as \`tar -xpf\``, async () => {
      const xattrs = format === 'posix' ? ['--xattrs', '--xattrs-include=*'] : [];
      const archive = path.join(dir, `${format}.tar`);
      await exec('tar', [`--format=${format}`, ...xattrs, '-C', tree, '-cf', archive, '.']);
      const gnu = fresh();
      await exec('tar', ['-xpf', archive, ...xattrs, '-C', gnu]);
      const ours = fresh();
      const result = await applyLayer(fs.createReadStream(archive), ours);

      const theirs = snapshot(gnu, { xattrs: format === 'posix' });
      assert.deepEqual(snapshot(ours, { xattrs: format === 'posix' }), theirs);
      if (format === 'posix') assert.deepEqual(snapshot(ours), snapshot(tree));
      assert.equal(result.entries, walk(tree).length);
      const files = walk(tree).filter((rel) => rel !== '' && fs.lstatSync(path.join(tree, rel)).isFile());
      assert.equal(result.files, files.length - 2, 'two of the files are hardlinks');
    });
  }

  test('OCI whiteouts become overlayfs whiteouts; packDir turns them back', async () => {
    const root = fresh();
    const archive = await buildTar([
      { entry: { name: 'a/', type: 'dir', mode: 0o755 } },
      { entry: { name: 'a/.wh.gone', mtime: 1.7e9 } },
      { entry: { name: 'a/.wh..wh..opq' } },
      { entry: { name: 'b/.wh..wh..opq' } },
      { entry: { name: '.wh.top' } },
      { entry: { name: 'c/', type: 'dir' } },
      { entry: { name: 'c/.wh.x' } },
      { entry: { name: 'c/x' }, data: Buffer.from('real x wins\n') },
      { entry: { name: 'c/y' }, data: Buffer.from('real y wins\n') },
      { entry: { name: 'c/.wh.y' } },
      { entry: { name: '.wh..wh.plnk/', type: 'dir' } },
      { entry: { name: '.wh..wh.plnk/1234.5678' }, data: Buffer.from('aufs') },
      {
        entry: {
          name: 'a/f',
          xattrs: new Map([
            ['trusted.overlay.opaque', Buffer.from('y')],
            ['trusted.overlay.redirect', Buffer.from('/etc')],
            ['user.keep', Buffer.from('kept')],
          ]),
        },
        data: Buffer.from('f\n'),
      },
    ]);
    await applyLayer(chunksOf(archive, 100), root);

    const gone = fs.lstatSync(path.join(root, 'a/gone'));
    assert.ok(gone.isCharacterDevice());
    assert.equal(gone.rdev, 0);
    assert.equal(gone.mode & 0o7777, 0);
    assert.equal(gone.mtimeMs, 1.7e12);
    assert.ok(fs.lstatSync(path.join(root, 'top')).isCharacterDevice());
    assert.equal(getXattr(path.join(root, 'a'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.equal(getXattr(path.join(root, 'b'), 'trusted.overlay.opaque')?.toString(), 'y');
    const b = fs.lstatSync(path.join(root, 'b'));
    assert.deepEqual([b.isDirectory(), b.mode & 0o7777, b.uid, b.gid], [true, 0o755, 0, 0]);
    assert.equal(fs.readFileSync(path.join(root, 'c/x'), 'utf8'), 'real x wins\n');
    assert.equal(fs.readFileSync(path.join(root, 'c/y'), 'utf8'), 'real y wins\n');
    assert.equal(getXattr(path.join(root, 'a/f'), 'trusted.overlay.opaque'), undefined);
    assert.equal(getXattr(path.join(root, 'a/f'), 'trusted.overlay.redirect'), undefined);
    assert.equal(getXattr(path.join(root, 'a/f'), 'user.keep')?.toString(), 'kept');
    assert.deepEqual(walk(root), ['', 'a', 'a/f', 'a/gone', 'b', 'c', 'c/x', 'c/y', 'top']);

    const names: string[] = [];
    for await (const { entry } of readTar(packDir(root))) {
      names.push(entry.name);
      assert.ok(!entry.xattrs?.has('trusted.overlay.opaque'), entry.name);
    }
    assert.deepEqual(names, [
      'a/',
      'a/.wh..wh..opq',
      'a/f',
      'a/.wh.gone',
      'b/',
      'b/.wh..wh..opq',
      'c/',
      'c/x',
      'c/y',
      '.wh.top',
    ]);
  });

  test('a repeated directory takes the last metadata; "./" is the root', async () => {
    const root = fresh();
    const archive = await buildTar([
      { entry: { name: './', type: 'dir', mode: 0o711, uid: 5, gid: 6, mtime: 1.2e9 } },
      { entry: { name: './x/', type: 'dir', mode: 0o700, mtime: 1.3e9 } },
      { entry: { name: './x/f' }, data: Buffer.from('f') },
      { entry: { name: 'x', type: 'dir', mode: 0o750, uid: 9, mtime: 1.4e9 } },
      { entry: { name: 'x/./g', type: 'symlink', linkname: '../../../anything' } },
    ]);
    await applyLayer(chunksOf(archive), root);
    const top = fs.statSync(root);
    assert.deepEqual([top.mode & 0o7777, top.uid, top.gid, top.mtimeMs], [0o711, 5, 6, 1.2e12]);
    const x = fs.statSync(path.join(root, 'x'));
    assert.deepEqual([x.mode & 0o7777, x.uid, x.mtimeMs], [0o750, 9, 1.4e12]);
    assert.equal(fs.readlinkSync(path.join(root, 'x/g')), '../../../anything');
  });

  describe('attacks: rejected, naming the entry, with nothing outside the root touched', () => {
    const data = Buffer.from('pwned\n');
    const cases: [string, string, Parameters<typeof buildTar>[0], RegExp][] = [
      [
        'a parent directory',
        '../evil',
        [{ entry: { name: '../evil' }, data }],
        /path escapes the layer root/,
      ],
      ['an absolute name', '/abs', [{ entry: { name: '/abs' }, data }], /absolute path/],
      ['.. in the middle', 'a/../../x', [{ entry: { name: 'a/../../x' }, data }], /escapes/],
      ['.. that stays inside', 'a/../x', [{ entry: { name: 'a/../x' }, data }], /`\.\.` component/],
      ['an empty component', 'a//x', [{ entry: { name: 'a//x' }, data }], /empty path component/],
      [
        'a file under a symlink to outside',
        'a/x',
        [{ entry: { name: 'a', type: 'symlink', linkname: '@SENTINEL@' } }, { entry: { name: 'a/x' }, data }],
        /parent `a` is a symlink/,
      ],
      [
        'a file under a symlink to ..',
        'a/a/x',
        [{ entry: { name: 'a', type: 'symlink', linkname: '..' } }, { entry: { name: 'a/a/x' }, data }],
        /parent `a` is a symlink/,
      ],
      [
        'a whiteout under a symlink',
        'a/.wh.new',
        [{ entry: { name: 'a', type: 'symlink', linkname: '@SENTINEL@' } }, { entry: { name: 'a/.wh.new' } }],
        /parent `a` is a symlink/,
      ],
      [
        'an opaque marker under a symlink',
        'a/.wh..wh..opq',
        [
          { entry: { name: 'a', type: 'symlink', linkname: '@SENTINEL@' } },
          { entry: { name: 'a/.wh..wh..opq' } },
        ],
        /opaque directory `a` is a symlink/,
      ],
      [
        'a hardlink out of the layer',
        'h',
        [{ entry: { name: 'h', type: 'hardlink', linkname: '../../etc/passwd' } }],
        /hardlink `h` → `\.\.\/\.\.\/etc\/passwd`: target outside the layer/,
      ],
      [
        'a hardlink to an absolute path',
        'h',
        [{ entry: { name: 'h', type: 'hardlink', linkname: '/etc/passwd' } }],
        /target outside the layer/,
      ],
      [
        'a hardlink through a symlink',
        'h',
        [
          { entry: { name: 'a', type: 'symlink', linkname: '/etc' } },
          { entry: { name: 'h', type: 'hardlink', linkname: 'a/passwd' } },
        ],
        /target not in this layer/,
      ],
      [
        'a hardlink to a symlink',
        'h',
        [
          { entry: { name: 'a', type: 'symlink', linkname: '/etc/passwd' } },
          { entry: { name: 'h', type: 'hardlink', linkname: 'a' } },
        ],
        /target is a symlink/,
      ],
      [
        'duplicate files',
        './f',
        [
          { entry: { name: 'f' }, data },
          { entry: { name: './f' }, data },
        ],
        /duplicate entry \(already a regular file\)/,
      ],
      [
        'a file over a symlink',
        's',
        [{ entry: { name: 's', type: 'symlink', linkname: '@SENTINEL@/f' } }, { entry: { name: 's' }, data }],
        /duplicate entry \(already a symlink\)/,
      ],
      [
        'a file under a file',
        'f/x',
        [
          { entry: { name: 'f' }, data },
          { entry: { name: 'f/x' }, data },
        ],
        /parent `f` is a regular file/,
      ],
      ['a whiteout of ..', '.wh...', [{ entry: { name: '.wh...' } }], /whiteout of `\.\.`/],
      [
        'a root that is a file',
        '.',
        [{ entry: { name: '.', type: 'symlink', linkname: '/' } }],
        /layer root/,
      ],
    ];
    for (const [what, name, entries, cause] of cases) {
      test(what, async () => {
        const base = tempDir('apply-attack');
        try {
          const root = path.join(base, 'root');
          const sentinel = path.join(base, 'sentinel');
          fs.mkdirSync(root);
          fs.mkdirSync(sentinel);
          fs.writeFileSync(path.join(sentinel, 'f'), 'keep\n');
          for (const { entry } of entries) entry.linkname = entry.linkname?.replace('@SENTINEL@', sentinel);
          const archive = await buildTar(entries);
          const before = surroundings(base, root);
          const passwd = fs.statSync('/etc/passwd');
          await assert.rejects(applyLayer(chunksOf(archive), root), (err: Error) => {
            assert.ok(err instanceof InvalidArgument, err.stack);
            assert.ok(err.message.includes(`\`${name}\``), err.message);
            assert.match(err.message, cause);
            return true;
          });
          assert.deepEqual(surroundings(base, root), before);
          assert.deepEqual(fs.statSync('/etc/passwd'), passwd);
        } finally {
          fs.rmSync(base, { recursive: true, force: true });
        }
      });
    }
  });

  test('refuses a root that is not empty', async () => {
    const root = fresh();
    fs.writeFileSync(path.join(root, 'x'), '');
    const archive = await buildTar([{ entry: { name: 'y' } }]);
    await assert.rejects(applyLayer(chunksOf(archive), root), FailedPrecondition);
  });

  test('a truncated archive fails with DataLoss and leaves no descriptor open', async () => {
    const root = fresh();
    const archive = await buildTar([
      { entry: { name: 'a' }, data: Buffer.alloc(10_000, 1) },
      { entry: { name: 'b' }, data: Buffer.alloc(300_000, 2) },
    ]);
    const fds = fs.readdirSync('/proc/self/fd').length;
    await assert.rejects(applyLayer(chunksOf(archive.subarray(0, 200_000), 4096), root), DataLoss);
    assert.equal(fs.readdirSync('/proc/self/fd').length, fds);
  });

  test('stops when aborted', async () => {
    const root = fresh();
    const archive = await buildTar([{ entry: { name: 'a' }, data: Buffer.alloc(10) }]);
    await assert.rejects(applyLayer(chunksOf(archive), root, { signal: AbortSignal.abort() }), {
      name: 'AbortError',
    });
  });

  test('records every byte: raw frames and file references rebuild the archive', async () => {
    const root = fresh();
    const archive = await buildTar([
      { entry: { name: 'd/', type: 'dir' } },
      { entry: { name: 'd/a' }, data: Buffer.from('hello') },
      { entry: { name: 'd/.wh.odd' }, data: Buffer.from('whiteout with data') },
      { entry: { name: 'd/h', type: 'hardlink', linkname: 'd/a' } },
    ]);
    const parts: Buffer[] = [];
    const files: [string, number][] = [];
    await applyLayer(chunksOf(archive, 7), root, {
      recorder: {
        raw: (bytes) => parts.push(Buffer.from(bytes)),
        file: (rel, size) => {
          files.push([rel, size]);
          parts.push(Buffer.from(`@${rel}@`));
        },
      },
    });
    assert.deepEqual(files, [['d/a', 5]]);
    const rebuilt = Buffer.concat(
      parts.map((p) => (p.equals(Buffer.from('@d/a@')) ? Buffer.from('hello') : p)),
    );
    assert.ok(rebuilt.equals(archive));
    assert.ok((await collect(chunksOf(rebuilt))).equals(archive));
  });
});
