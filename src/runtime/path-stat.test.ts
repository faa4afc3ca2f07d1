import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { tempDir } from './bundle-testing.js';
import { containerPath, resolveInRoot } from './container-archive.js';
import { GO_MODE, goFileMode, isGoDir, pathStat } from './path-stat.js';

let dir: string;
before(() => {
  dir = tempDir('path-stat');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What Go's io/fs.FileMode would print for these (os.FileMode(m).String()), by bit. */
test('goFileMode puts the type and special bits where Go keeps them', () => {
  const table: [number, number][] = [
    [0o100644, 0o644],
    [0o040755, 2 ** 31 + 0o755],
    [0o120777, 2 ** 27 + 0o777],
    [0o020666, 2 ** 26 + 2 ** 21 + 0o666], // character device: ModeDevice | ModeCharDevice
    [0o060660, 2 ** 26 + 0o660], // block device: ModeDevice
    [0o010600, 2 ** 25 + 0o600], // FIFO
    [0o140755, 2 ** 24 + 0o755], // socket
    [0o104755, 2 ** 23 + 0o755], // setuid
    [0o102755, 2 ** 22 + 0o755], // setgid
    [0o041777, 2 ** 31 + 2 ** 20 + 0o777], // sticky directory (/tmp)
  ];
  for (const [mode, want] of table) {
    assert.equal(goFileMode({ mode }), want, mode.toString(8));
    // Unsigned: JSON must carry 2147484141 for a 0755 directory, never a negative number.
    assert.ok(goFileMode({ mode }) >= 0);
  }
  assert.equal(GO_MODE.dir, 2147483648);
  assert.ok(isGoDir(goFileMode({ mode: 0o040700 })));
  assert.ok(!isGoDir(goFileMode({ mode: 0o120777 })));
});

test('pathStat of real files: the mode bits lstat gives, an RFC 3339 mtime, the link target', () => {
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'hello');
  fs.chmodSync(file, 0o4750);
  fs.mkdirSync(path.join(dir, 'd'));
  fs.chmodSync(path.join(dir, 'd'), 0o1777);
  fs.symlinkSync('f', path.join(dir, 'l'));

  const f = pathStat('f', fs.lstatSync(file));
  assert.deepEqual(
    { ...f, mtime: undefined },
    { name: 'f', size: 5, mode: 2 ** 23 + 0o750, mtime: undefined, linkTarget: '' },
  );
  assert.equal(new Date(f.mtime).getTime(), Math.floor(fs.lstatSync(file).mtimeMs));
  assert.equal(pathStat('d', fs.lstatSync(path.join(dir, 'd'))).mode, 2 ** 31 + 2 ** 20 + 0o777);
  const l = pathStat('l', fs.lstatSync(path.join(dir, 'l')), '/f');
  assert.equal(l.mode, 2 ** 27 + 0o777);
  assert.equal(l.linkTarget, '/f');
});

test('containerPath cleans as Docker does and keeps a trailing / or /.', () => {
  const table: [string, { abs: string; followLast: boolean; name: string }][] = [
    ['/etc/hosts', { abs: '/etc/hosts', followLast: false, name: 'hosts' }],
    ['etc/hosts', { abs: '/etc/hosts', followLast: false, name: 'hosts' }],
    ['/etc/', { abs: '/etc/', followLast: true, name: 'etc' }],
    ['/tmp/dir/.', { abs: '/tmp/dir/.', followLast: true, name: '.' }],
    ['/a/../../b', { abs: '/b', followLast: false, name: 'b' }],
    ['/', { abs: '/', followLast: true, name: '/' }],
    ['/..', { abs: '/', followLast: true, name: '/' }],
  ];
  for (const [input, want] of table) assert.deepEqual(containerPath(input), want, input);
  assert.throws(() => containerPath(''), /empty/);
});

test('resolveInRoot follows links inside the root, the last one only when asked', () => {
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'real'), { recursive: true });
  fs.symlinkSync('/real', path.join(root, 'abs'));
  fs.symlinkSync('../../../../../../etc', path.join(root, 'up'));
  assert.equal(resolveInRoot(root, containerPath('/abs')), path.join(root, 'abs'));
  assert.equal(resolveInRoot(root, containerPath('/abs/')), path.join(root, 'real'));
  assert.equal(resolveInRoot(root, containerPath('/abs/x')), path.join(root, 'real/x'));
  // `..` stops at the root: the host's /etc is never reached.
  assert.equal(resolveInRoot(root, containerPath('/up/passwd')), path.join(root, 'etc/passwd'));
});
