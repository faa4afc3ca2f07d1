/**
 * The hybrid-cgroups trap (docs/host.md#crun-and-hybrid-cgroups) on a fake cgroup tree: once
 * the real host has been fixed (the kernel keeps hugetlb on v1 until reboot) a working crun
 * would hide a broken detection, so the detection is tested on its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { umount } from '../sys/mount.js';
import { tempDir } from './bundle-testing.js';
import { cgroupV1Mounts, chooseRuntime, hybridControllers } from './oci-runtime.js';
import { needs } from '../util/test-requirements.js';

let dir: string;
let bin: string;
const mounted: string[] = [];

/** A fake cgroup root whose cgroup2 mount offers `controllers` (undefined: no unified dir). */
function fakeCgroups(name: string, controllers: string | undefined): string {
  const root = path.join(dir, name);
  fs.mkdirSync(root, { recursive: true });
  if (controllers !== undefined) {
    fs.mkdirSync(path.join(root, 'unified'));
    fs.writeFileSync(path.join(root, 'unified/cgroup.controllers'), controllers);
  }
  return root;
}

before(() => {
  dir = tempDir('oci-runtime');
  bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  for (const name of ['crun', 'runc']) fs.writeFileSync(path.join(bin, name), '#!/bin/sh\n', { mode: 0o755 });
});

after(() => {
  for (const m of mounted) {
    try {
      umount(m);
    } catch {
      // Already gone.
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('detection', () => {
  test('cgroup.controllers of the hybrid cgroup2 mount', () => {
    assert.deepEqual(hybridControllers(fakeCgroups('empty', '')), []);
    assert.deepEqual(hybridControllers(fakeCgroups('newline', '\n')), []);
    assert.deepEqual(hybridControllers(fakeCgroups('v1only', undefined)), []);
    assert.deepEqual(hybridControllers(fakeCgroups('two', 'hugetlb misc\n')), ['hugetlb', 'misc']);
  });

  test('mountinfo: cgroup v1 mount points with their controllers, escapes decoded', () => {
    const text = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '44 31 0:39 / /tmp/with\\040space/hugetlb rw,relatime - cgroup cgroup rw,hugetlb',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      '',
    ].join('\n');
    const m = cgroupV1Mounts(text);
    assert.deepEqual([...m.keys()], ['/sys/fs/cgroup/cpu', '/tmp/with space/hugetlb']);
    assert.deepEqual(m.get('/tmp/with space/hugetlb'), ['rw', 'hugetlb']);
  });
});

describe('chooseRuntime', () => {
  const opts = (cgroupRoot: string, more: object = {}) => ({ cgroupRoot, searchPath: [bin], ...more });

  test('crun by default when cgroup2 offers nothing; runc on request', () => {
    assert.deepEqual(chooseRuntime(undefined, opts(fakeCgroups('ok', ''))), {
      name: 'crun',
      path: path.join(bin, 'crun'),
    });
    assert.deepEqual(chooseRuntime(undefined, opts(fakeCgroups('v1', undefined))), {
      name: 'crun',
      path: path.join(bin, 'crun'),
    });
    assert.deepEqual(chooseRuntime('runc', opts(fakeCgroups('hyb-runc', 'hugetlb'))), {
      name: 'runc',
      path: path.join(bin, 'runc'),
    });
  });

  test('hybrid, fix not allowed: runc with a one-line notice', () => {
    const choice = chooseRuntime(undefined, opts(fakeCgroups('nofix', 'hugetlb\n'), { applyFix: false }));
    assert.equal(choice.name, 'runc');
    assert.equal(choice.path, path.join(bin, 'runc'));
    assert.match(choice.notice!, /^using runc instead of crun: .*hugetlb/);
    assert.doesNotMatch(choice.notice!, /\n/);
  });

  test('hybrid with an explicit --runtime crun: a clear error, not a silent switch', () => {
    assert.throws(
      () => chooseRuntime('crun', opts(fakeCgroups('explicit', 'hugetlb'), { applyFix: false })),
      {
        name: 'FailedPrecondition',
        message: /^use runtime `crun`: cgroup v2 holds controllers crun 1\.8\.1 cannot use \(hugetlb\)/,
      },
    );
  });

  test(
    'hybrid as root: the documented mount is made, once, and crun is chosen',
    { skip: needs('root') },
    () => {
      const root = fakeCgroups('fix', 'hugetlb\n');
      const target = path.join(root, 'hugetlb');
      mounted.push(target);
      assert.deepEqual(chooseRuntime(undefined, opts(root)), { name: 'crun', path: path.join(bin, 'crun') });
      const mounts = () =>
        fs
          .readFileSync('/proc/self/mountinfo', 'utf8')
          .split('\n')
          .filter((l) => l.split(' ')[4] === target);
      assert.equal(mounts().length, 1);
      assert.match(mounts()[0]!, / - cgroup cgroup .*hugetlb/);
      // Idempotent: the fake file still lists hugetlb, but the mount is already there.
      assert.equal(chooseRuntime(undefined, opts(root)).name, 'crun');
      assert.equal(mounts().length, 1);
    },
  );

  test('hybrid as root, fix fails: runc with a notice', { skip: needs('root') }, () => {
    const choice = chooseRuntime(undefined, opts(fakeCgroups('badctl', 'nosuchcontroller')));
    assert.equal(choice.name, 'runc');
    assert.match(choice.notice!, /nosuchcontroller/);
    const odd = chooseRuntime(undefined, opts(fakeCgroups('oddname', '../../etc')));
    assert.equal(odd.name, 'runc');
    assert.match(odd.notice!, /unexpected controller name/);
  });

  test('missing binaries name their Debian package', () => {
    const empty = path.join(dir, 'empty-bin');
    fs.mkdirSync(empty, { recursive: true });
    assert.throws(
      () => chooseRuntime(undefined, { cgroupRoot: fakeCgroups('nobin', ''), searchPath: [empty] }),
      {
        name: 'FailedPrecondition',
        code: 'RUNTIME_MISSING',
        message: 'find runtime `crun`: not installed (apt-get install crun)',
      },
    );
    assert.throws(() => chooseRuntime('runc', { searchPath: [empty] }), { message: /apt-get install runc/ });
    const crunOnly = path.join(dir, 'crun-only');
    fs.mkdirSync(crunOnly, { recursive: true });
    fs.copyFileSync(path.join(bin, 'crun'), path.join(crunOnly, 'crun'));
    assert.throws(
      () =>
        chooseRuntime(undefined, {
          cgroupRoot: fakeCgroups('nofallback', 'hugetlb'),
          searchPath: [crunOnly],
          applyFix: false,
        }),
      { message: /and runc is not installed \(apt-get install runc\)/ },
    );
  });

  test('unknown runtimes are refused', () => {
    assert.throws(() => chooseRuntime('youki'), { name: 'InvalidArgument', message: /unknown runtime/ });
  });

  test('this host: whatever it is, crun or a noticed fallback', () => {
    const choice = chooseRuntime();
    assert.ok(choice.name === 'crun' || choice.notice);
  });
});
