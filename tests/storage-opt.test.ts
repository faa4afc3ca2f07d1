/**
 * `--storage-opt size=` end to end: on a real XFS file system (a loop file mounted with
 * `prjquota`) a container's writable layer is limited — a write past the size fails inside, one
 * under it succeeds, a write to a file from the image (a copy-up through overlayfs' work dir)
 * works, a container without the option is not limited — and `rm` gives the project back.
 * Everywhere else (the sandbox store on the host's file system, XFS without `prjquota`) the
 * option is refused with one line and exit status 125 and leaves no row and no container dir,
 * as are bad values anywhere.
 *
 * The limit needs a kernel built with CONFIG_XFS_QUOTA; without it those tests skip
 * (tests/allowed-skips.txt) and the refusals are still checked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { assertExit, discardRoot, ps } from './container-testing.js';
import { busyboxTar, ls, oneLineError, skiff, type RunResult, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

const NO_SPACE = /No space left on device|Disk quota exceeded/;

/** A store at `root` that `discardRoot` can reset and remove like a sandbox's. */
function storeAt(dir: string): Sandbox {
  const root = path.join(dir, 'store');
  const s: Sandbox = {
    dir,
    root,
    skiff: (args, options) => skiff(args, { ...options, root }),
    async ok(args, options) {
      const r = await s.skiff(args, options);
      if (r.code !== 0) throw new Error(`skiff ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr}`);
      return r;
    },
    check: () => Promise.reject(new Error('not used here')),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 }),
  };
  return s;
}

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(cmd, args, { encoding: 'utf8' });
}

/** A loop-mounted XFS file system made from a sparse file, removed by `remove` whatever happened. */
class LoopXfs {
  readonly file: string;
  readonly mountPoint: string;

  constructor(dir: string, name: string) {
    this.file = path.join(dir, `${name}.img`);
    this.mountPoint = path.join(dir, name);
    fs.mkdirSync(this.mountPoint);
    fs.closeSync(fs.openSync(this.file, 'w'));
    fs.truncateSync(this.file, 400 * 2 ** 20); // mkfs.xfs wants at least 300 MB
    const mkfs = sh('mkfs.xfs', ['-q', this.file]);
    if (mkfs.status !== 0) throw new Error(`mkfs.xfs ${this.file}: ${mkfs.stderr}`);
  }

  /** Mounts it with `options`; false when the kernel refuses them. */
  mount(options: string): boolean {
    return sh('mount', ['-o', `loop,${options}`, this.file, this.mountPoint]).status === 0;
  }

  remove(): void {
    if (sh('umount', [this.mountPoint]).status !== 0) sh('umount', ['-l', this.mountPoint]);
    // `mount -o loop` detaches its device on unmount; one left over (a lazy unmount) goes here.
    for (const line of sh('losetup', ['-j', this.file]).stdout.split('\n')) {
      const device = line.split(':')[0];
      if (device) sh('losetup', ['-d', device]);
    }
  }
}

/** Whether this kernel can count project quotas on XFS at all. */
function kernelHasXfsQuota(): boolean | undefined {
  try {
    const config = zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString('utf8');
    return /^CONFIG_XFS_QUOTA=y/m.test(config);
  } catch {
    return undefined; // no /proc/config.gz: the mount decides
  }
}

/** Project IDs with blocks, inodes or limits on the file system at `mountPoint`. */
function projects(mountPoint: string): Map<number, { blocksKiB: number; hardKiB: number }> {
  const r = sh('xfs_quota', ['-x', '-c', 'report -p -n -N -b', mountPoint]);
  assert.equal(r.status, 0, r.stderr);
  const found = new Map<number, { blocksKiB: number; hardKiB: number }>();
  for (const line of r.stdout.split('\n')) {
    const m = /^#(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line.trim());
    if (m && Number(m[1]) !== 0) found.set(Number(m[1]), { blocksKiB: Number(m[2]), hardKiB: Number(m[4]) });
  }
  return found;
}

/** A refusal: exit 125, one line on stderr, nothing printed on stdout. */
function assertRefused(r: RunResult, what: string): string {
  assertExit(r, 125, what);
  assert.equal(r.stdout, '', `${what} printed an ID`);
  return oneLineError(r.stderr);
}

async function assertNothingLeft(s: Sandbox, rows: unknown, dirs: string[]): Promise<void> {
  assert.deepEqual(await ps(s), rows, 'no row');
  assert.deepEqual(ls(path.join(s.root, 'containers')), dirs, 'no container dir');
}

describe('--storage-opt size', { skip: needs('root', 'crun', 'conmon') }, () => {
  let s: Sandbox;

  before(async () => {
    s = storeAt(fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-storage-')));
    await s.ok(['import', busyboxTar(), 'base']);
  });
  after(async () => {
    await discardRoot(s);
    fs.rmSync(s.dir, { recursive: true, force: true });
  });

  it('bad values: 125, one line each, nothing left behind', async () => {
    const rows = await ps(s);
    const dirs = ls(path.join(s.root, 'containers'));
    const cases: [string, RegExp][] = [
      ['size=abc', /--storage-opt size `abc`: not a size/],
      ['size=64', /--storage-opt size `64`: below the minimum of 1 MiB/],
      ['size=', /--storage-opt size ``: not a size/],
      ['inodes=100', /--storage-opt `inodes=100`: unknown option \(size\)/],
      ['size', /--storage-opt `size`: expected KEY=VALUE/],
    ];
    for (const [opt, message] of cases) {
      for (const verb of [['run', '--rm'], ['run', '-d'], ['create']]) {
        const r = await s.skiff([...verb, '--storage-opt', opt, 'base', 'true']);
        assert.match(assertRefused(r, `${verb.join(' ')} --storage-opt ${opt}`), message);
      }
    }
    await assertNothingLeft(s, rows, dirs);
  });

  it('on a store without project quotas: refused in one line naming the file system', async () => {
    const rows = await ps(s);
    const dirs = ls(path.join(s.root, 'containers'));
    for (const verb of [['run', '--rm'], ['run', '-d'], ['create']]) {
      const r = await s.skiff([...verb, '--storage-opt', 'size=64m', 'base', 'true']);
      const line = assertRefused(r, `${verb.join(' ')} --storage-opt size=64m`);
      // The sandbox's store is on the host's file system: ext4, tmpfs, or xfs without prjquota.
      const prefix = `Error: --storage-opt size needs a store on xfs mounted with project quotas (prjquota); ${s.root} is on `;
      assert.ok(line.startsWith(prefix), line);
      assert.match(line.slice(prefix.length), /^[a-z0-9]+( without prjquota)?$/);
    }
    await assertNothingLeft(s, rows, dirs);
  });
});

describe(
  '--storage-opt size on xfs',
  { skip: needs('root', 'crun', 'conmon', 'xfs_quota', 'mkfs.xfs', 'mount', 'losetup', 'umount') },
  () => {
    let dir: string;
    const filesystems: LoopXfs[] = [];
    let quota: LoopXfs | undefined; // undefined when the kernel cannot mount with prjquota
    let plain: LoopXfs;
    let q: Sandbox;
    let p: Sandbox;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-xfs-'));
      plain = new LoopXfs(dir, 'plain');
      filesystems.push(plain);
      assert.ok(plain.mount('noquota'), 'mount a plain xfs');
      p = storeAt(plain.mountPoint);
      await p.ok(['import', busyboxTar(), 'base']);

      const withQuota = new LoopXfs(dir, 'quota');
      filesystems.push(withQuota);
      const mounted = withQuota.mount('prjquota');
      const capable = kernelHasXfsQuota();
      if (mounted) quota = withQuota;
      else if (capable === true) throw new Error('mount -o loop,prjquota of a new xfs failed');
      if (quota) {
        q = storeAt(quota.mountPoint);
        await q.ok(['import', busyboxTar(), 'base']);
      }
    });

    after(async () => {
      // Each step on its own: a failed one must not keep the file systems mounted.
      for (const s of [q, p]) {
        if (s) await discardRoot(s).catch(() => {});
      }
      for (const f of filesystems) f.remove();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('on xfs without prjquota: refused in one line, nothing left behind', async () => {
      const rows = await ps(p);
      const dirs = ls(path.join(p.root, 'containers'));
      const r = await p.skiff(['run', '--rm', '--storage-opt', 'size=64m', 'base', 'true']);
      assert.equal(
        assertRefused(r, 'run on xfs without prjquota'),
        `Error: --storage-opt size needs a store on xfs mounted with project quotas (prjquota); ${p.root} is on xfs without prjquota`,
      );
      await assertNothingLeft(p, rows, dirs);
    });

    it('size=32m: a 64 MB write fails inside, 8 MB and a copy-up succeed, no limit without it', async (t) => {
      if (!quota) return t.skip('kernel without XFS quota support (CONFIG_XFS_QUOTA)');
      const write = (mb: number, ...opts: string[]) =>
        q.skiff([
          'run',
          '--rm',
          ...opts,
          'base',
          'sh',
          '-c',
          `dd if=/dev/zero of=/big bs=1M count=${mb} && sync`,
        ]);

      const over = await write(64, '--storage-opt', 'size=32m');
      assert.notEqual(over.code, 0, `a 64 MB write under size=32m succeeded: ${over.stderr}`);
      assert.notEqual(over.code, 125, `skiff itself failed: ${over.stderr}`);
      assert.match(over.stderr, NO_SPACE);

      const under = await write(8, '--storage-opt', 'size=32m');
      assertExit(under, 0, 'an 8 MB write under size=32m');

      // A file from the image is copied up through the work dir into upper: both in the project.
      const copyUp = await q.skiff([
        'run',
        '--rm',
        '--storage-opt',
        'size=32m',
        'base',
        'sh',
        '-c',
        'echo extra >> /etc/passwd && mkdir /etc/new && rm /bin/true && tail -n 1 /etc/passwd',
      ]);
      assertExit(copyUp, 0, 'writes to files from the image');
      assert.equal(copyUp.stdout, 'extra\n');

      assertExit(await write(64), 0, 'a 64 MB write without --storage-opt');

      // Every container above was removed, and with it its project.
      assert.deepEqual([...projects(quota.mountPoint).keys()], [], 'projects left after rm');
    });

    it('create --storage-opt size=1g: inspect shows it, the project has its limit, rm clears it', async (t) => {
      if (!quota) return t.skip('kernel without XFS quota support (CONFIG_XFS_QUOTA)');
      const id = (
        await q.ok([
          'create',
          '--name',
          'sized',
          '--storage-opt',
          'size=1g',
          'base',
          'sh',
          '-c',
          'dd if=/dev/zero of=/two bs=1M count=2 && sync',
        ])
      ).stdout.trim();
      const inspect = JSON.parse((await q.ok(['inspect', '--type', 'container', 'sized'])).stdout) as {
        options: { storageOpt?: Record<string, string> };
      }[];
      assert.deepEqual(inspect[0]!.options.storageOpt, { size: '1g' });

      const project = Number(fs.readFileSync(path.join(q.root, 'containers', id, 'quota-project'), 'utf8'));
      assert.equal(projects(quota.mountPoint).get(project)?.hardKiB, 2 ** 20, 'a 1 GiB hard limit');
      // It runs (and runs again: each start checks the quota is still kept), and what it
      // writes is charged to its project.
      for (let i = 0; i < 2; i++) {
        await q.ok(['start', 'sized']);
        assert.equal((await q.ok(['wait', 'sized'])).stdout, '0\n');
      }
      assert.ok(projects(quota.mountPoint).get(project)!.blocksKiB >= 2048, 'its 2 MB are charged to it');

      await q.ok(['rm', 'sized']);
      assert.equal(projects(quota.mountPoint).get(project), undefined, 'the project is gone after rm');
      assert.ok(!fs.existsSync(path.join(q.root, 'containers', id)), 'no container dir');
    });
  },
);
