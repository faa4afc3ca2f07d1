import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { tempDir } from './bundle-testing.js';
import { mkdirInRoot, readFileInRoot, secureJoin } from './in-root.js';

let root: string;
before(() => {
  root = tempDir('in-root');
  fs.mkdirSync(path.join(root, 'a/b'), { recursive: true });
  fs.symlinkSync('/a', path.join(root, 'abs'));
  fs.symlinkSync('../../../../..', path.join(root, 'a/up'));
  fs.symlinkSync('b', path.join(root, 'a/rel'));
  fs.symlinkSync('loop2', path.join(root, 'loop1'));
  fs.symlinkSync('loop1', path.join(root, 'loop2'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('secureJoin resolves links with / as the rootfs and .. stopping at it', () => {
  const table: [string, string][] = [
    ['/a/b', 'a/b'],
    ['/abs/b', 'a/b'],
    ['/a/rel', 'a/b'],
    ['/a/up/etc/shadow', 'etc/shadow'],
    ['/../../etc/passwd', 'etc/passwd'],
    ['/a/missing/../../x', 'x'],
    ['', ''],
  ];
  for (const [unsafe, want] of table) assert.equal(secureJoin(root, unsafe), path.join(root, want), unsafe);
  assert.throws(() => secureJoin(root, '/loop1'), { message: /too many symbolic links/ });
});

test('readFileInRoot: undefined when absent, contents when present', () => {
  fs.writeFileSync(path.join(root, 'a/b/f'), 'hi');
  assert.equal(readFileInRoot(root, '/abs/b/f'), 'hi');
  assert.equal(readFileInRoot(root, '/nope'), undefined);
  assert.throws(() => readFileInRoot(root, '/a'), { message: /not a regular file/ });
  assert.throws(() => readFileInRoot(root, '/a/b/f', 1), { message: /larger than 1 bytes/ });
});

test('mkdirInRoot creates through links without leaving the rootfs', () => {
  const made = mkdirInRoot(root, '/a/up/made/deep', { uid: process.getuid!(), gid: process.getgid!() });
  assert.equal(made, path.join(root, 'made/deep'));
  assert.ok(fs.statSync(made).isDirectory());
  fs.writeFileSync(path.join(root, 'file'), '');
  assert.throws(() => mkdirInRoot(root, '/file/x', { uid: 0, gid: 0 }), {
    message: /`\/file` is not a directory/,
  });
});
