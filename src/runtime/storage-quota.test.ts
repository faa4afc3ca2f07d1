import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mountContaining, parseMountinfoLine } from './mountinfo.js';
import { freeProject, MIN_STORAGE_SIZE, parseStorageOpt, projectsInUse } from './storage-quota.js';
import { SkiffError } from '../util/errors.js';

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof SkiffError && pattern.test(err.message));
}

test('storage-opt: size in bytes with Docker units, the key in any case', () => {
  assert.deepEqual(parseStorageOpt(undefined), {});
  assert.deepEqual(parseStorageOpt({}), {});
  assert.deepEqual(parseStorageOpt({ size: '64m' }), { size: 64 * 2 ** 20 });
  assert.deepEqual(parseStorageOpt({ Size: '1g' }), { size: 2 ** 30 });
  assert.deepEqual(parseStorageOpt({ size: String(MIN_STORAGE_SIZE) }), { size: MIN_STORAGE_SIZE });
});

test('storage-opt: bad sizes, small sizes and unknown keys are refused in one line', () => {
  refused(() => parseStorageOpt({ size: 'abc' }), /^invalid --storage-opt size `abc`: not a size/);
  refused(() => parseStorageOpt({ size: '' }), /^invalid --storage-opt size ``: not a size/);
  refused(() => parseStorageOpt({ size: '-1g' }), /not a size/);
  refused(
    () => parseStorageOpt({ size: '64' }),
    /^invalid --storage-opt size `64`: below the minimum of 1 MiB$/,
  );
  refused(
    () => parseStorageOpt({ inodes: '10' }),
    /^invalid --storage-opt `inodes=10`: unknown option \(size\)$/,
  );
});

test('project IDs: picked from the container ID, past the ones in use, never small', () => {
  const id = 'ab'.repeat(32);
  const first = freeProject(id, new Set());
  assert.ok(first >= 2 ** 20 && first < 2 ** 31, String(first));
  assert.equal(freeProject(id, new Set()), first, 'the same ID picks the same project');
  assert.equal(freeProject(id, new Set([first, first + 1])), first + 2);
  assert.notEqual(freeProject('cd'.repeat(32), new Set()), first);
  // At the top of the range it wraps to the bottom, not past 2³¹.
  const top = 2 ** 31 - 1;
  const wrapping = (top - 2 ** 20).toString(16).padStart(8, '0') + '0'.repeat(56);
  assert.equal(freeProject(wrapping, new Set()), top);
  assert.equal(freeProject(wrapping, new Set([top])), 2 ** 20);
});

test('projects in use: any blocks, inodes or limits; grace periods with spaces are skipped', () => {
  const report = [
    '#0                0          0          0     00 [--------]          3          0          0     00 [--------]',
    '#1048577          0          0      32768     00 [--------]          2          0          0     00 [--------]',
    '#1048578      40000      32768      32768     00  [6 days 23:59:58]  5          0          0     00 [--------]',
    '#1048579          0          0          0     00 [--------]          0          0          0     00 [--------]',
    '#77               0          0          0     00 [--------]          1          0          0     00 [--------]',
    '',
  ].join('\n');
  assert.deepEqual([...projectsInUse('/unused', report)].sort(), [0, 1048577, 1048578, 77].sort());
});

test('mountinfo: the longest mount point containing the path, escapes undone', () => {
  const info = [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '45 22 7:0 / /srv/my\\040store rw,relatime shared:30 - xfs /dev/loop0 rw,inode64,logbufs=8,prjquota',
    '46 22 7:1 / /srv/my rw,relatime - xfs /dev/loop1 rw,noquota',
  ].join('\n');
  const at = (file: string) => mountContaining(file, info)?.mountPoint;
  assert.equal(at('/var/lib/skiff'), '/');
  assert.equal(at('/srv/my store/containers'), '/srv/my store');
  assert.equal(at('/srv/my'), '/srv/my');
  assert.equal(at('/srv/mystore'), '/', 'a mount point is a whole path component');
  assert.equal(mountContaining('/srv/my store', info)?.fsType, 'xfs');
  assert.deepEqual(parseMountinfoLine(info.split('\n')[1]!), {
    mountPoint: '/srv/my store',
    fsType: 'xfs',
    superOptions: ['rw', 'inode64', 'logbufs=8', 'prjquota'],
  });
  assert.equal(parseMountinfoLine('garbage'), undefined);
});

test('mountinfo: a mount over another wins', () => {
  const info = [
    '22 1 254:0 / / rw - ext4 /dev/vda rw',
    '45 22 7:0 / /srv rw - ext4 /dev/loop0 rw',
    '46 22 7:1 / /srv rw - xfs /dev/loop1 rw,prjquota',
  ].join('\n');
  assert.equal(mountContaining('/srv/store', info)?.fsType, 'xfs');
});
