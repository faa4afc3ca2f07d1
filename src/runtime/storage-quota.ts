/**
 * `--storage-opt size=`: a bound on what a container writes to its writable layer, with XFS
 * project quotas, as containers/storage does it. The container's overlay upper and work dirs
 * get a project ID of their own with the inherit flag, so every file made under them is
 * charged to that project, and the project gets a block hard limit; a write past it fails in
 * the container (XFS reports a project over its limit as ENOSPC, "No space left on device").
 * Elsewhere — ext4, or XFS mounted without `prjquota` — the option is refused, since overlayfs
 * has no limit of its own and a limit that is silently not kept is worse than none.
 *
 * Both dirs, not only upper: overlayfs makes each copy-up and whiteout in work/ and renames it
 * into upper/, and XFS refuses (EXDEV) a rename into a project-inherit tree from another
 * project, which would break every write to a file that came from the image.
 *
 * The work is done by `xfs_quota` (xfsprogs), not by FS_IOC_FSSETXATTR and quotactl(2) through
 * koffi: quotactl wants the block device behind the mount (quotactl_fd, which takes a
 * directory, is Linux 5.14 and not in glibc 2.36) and a hand-laid `struct fs_disk_quota`,
 * while xfs_quota is the tool the XFS maintainers keep in step with the kernel, and it runs
 * only at create and rm — never on start — so its few milliseconds cost nothing that matters.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { formatByteSize, parseByteSize } from '../util/byte-size.js';
import { errnoCode, FailedPrecondition, InvalidArgument } from '../util/errors.js';
import { programPath } from '../util/programs.js';
import { mountOf, type MountEntry } from './mountinfo.js';
import type { CreateOptions } from './records.js';
import { rootfsDirs } from './rootfs.js';

/**
 * The smallest `size`. XFS charges whole 4 KiB blocks, and a size below this is almost always a
 * unit left off (`size=64` is 64 bytes), which would make every write in the container fail.
 */
export const MIN_STORAGE_SIZE = 2 ** 20;

/**
 * The project IDs skiff takes: from 2²⁰, so that the small numbers admins give their own
 * projects in /etc/projects stay theirs, to below 2³¹, which every tool reads as a positive
 * number (XFS v5 file systems take 32-bit IDs).
 */
const FIRST_PROJECT = 2 ** 20;
const PROJECT_SPAN = 2 ** 31 - FIRST_PROJECT;

/** In the container's directory: the project ID its writable layer is charged to. */
const PROJECT_FILE = 'quota-project';

/** The `storageOpt` of create checked: only `size`, as Docker's and Podman's overlay driver. */
export function parseStorageOpt(options: Record<string, string> | undefined): { size?: number } {
  const parsed: { size?: number } = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (key.toLowerCase() !== 'size') {
      throw new InvalidArgument(`invalid --storage-opt \`${key}=${value}\`: unknown option (size)`, {
        code: 'STORAGE_OPT_INVALID',
      });
    }
    const bytes = parseByteSize(value, 'invalid --storage-opt size');
    if (bytes < MIN_STORAGE_SIZE) {
      throw new InvalidArgument(
        `invalid --storage-opt size \`${value}\`: below the minimum of ${formatByteSize(MIN_STORAGE_SIZE)}`,
        { code: 'STORAGE_OPT_INVALID' },
      );
    }
    parsed.size = bytes;
  }
  return parsed;
}

/** Project quotas on the file system under a store's `containers/`. */
export class LayerQuotas {
  /**
   * @param dir the store's `containers/` directory
   * @param root the store root, which the errors name
   */
  constructor(
    private readonly dir: string,
    private readonly root: string,
  ) {}

  /**
   * The size limit `options` ask for, once the store's file system is found able to keep it;
   * undefined when they ask for none. Checked at create and again at every start, because
   * the file system may have been remounted without quotas since.
   */
  required(options: CreateOptions): number | undefined {
    const { size } = parseStorageOpt(options.storageOpt);
    if (size === undefined) return undefined;
    this.mount();
    return size;
  }

  /**
   * Gives the new container's writable layer (upper and work, made here) a project of its own
   * limited to `bytes`. On failure the limit is cleared again; the caller removes the dirs,
   * which frees the project.
   */
  assign(containerDir: string, containerId: string, bytes: number): void {
    const mount = this.mount();
    const { upper, work } = rootfsDirs(containerDir);
    for (const d of [upper, work]) fs.mkdirSync(d, { recursive: true });
    const project = freeProject(containerId, projectsInUse(mount.mountPoint));
    // Written first: a crash after xfs_quota still leaves the ID for rm to release.
    fs.writeFileSync(path.join(containerDir, PROJECT_FILE), `${project}\n`);
    try {
      // Relative paths, from the container's directory: xfs_quota splits its commands at
      // spaces, and a store root may have one.
      xfsQuota(
        mount.mountPoint,
        [
          `project -s -p ${path.basename(upper)} -p ${path.basename(work)} ${project}`,
          `limit -p bhard=${bytes} ${project}`,
        ],
        containerDir,
      );
    } catch (err) {
      // The first error says what went wrong; a limit left on an empty project costs nothing.
      this.release(project, () => {});
      throw new FailedPrecondition(
        `limit the writable layer of \`${containerId.slice(0, 12)}\`: ${(err as Error).message}`,
        { code: 'STORAGE_QUOTA_FAILED', cause: err },
      );
    }
  }

  /** The project a container's writable layer is charged to, if it has one. */
  projectOf(containerDir: string): number | undefined {
    let text: string;
    try {
      text = fs.readFileSync(path.join(containerDir, PROJECT_FILE), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const project = Number(text.trim());
    return Number.isInteger(project) && project >= FIRST_PROJECT ? project : undefined;
  }

  /**
   * Clears the limit of `project` once its files are gone: with no blocks, inodes or limits
   * left, XFS drops the project from its reports and the ID is free again. What it removes is
   * gone either way, so a failure is only told to `notice`.
   */
  release(project: number, notice: (text: string) => void): void {
    try {
      xfsQuota(mountOf(this.dir).mountPoint, [`limit -p bhard=0 ${project}`]);
    } catch (err) {
      notice(`release quota project ${project}: ${(err as Error).message}`);
    }
  }

  /** The mount under `containers/`, which must be XFS with project quotas enforced. */
  private mount(): MountEntry {
    const mount = mountOf(this.dir);
    if (mount.fsType === 'xfs' && mount.superOptions.includes('prjquota')) return mount;
    // Name the store root, unless containers/ is a mount of its own.
    const named = mountOf(this.root).mountPoint === mount.mountPoint ? this.root : this.dir;
    const what = mount.fsType === 'xfs' ? 'xfs without prjquota' : mount.fsType;
    throw new FailedPrecondition(
      `--storage-opt size needs a store on xfs mounted with project quotas (prjquota); ${named} is on ${what}`,
      { code: 'STORAGE_OPT_UNSUPPORTED' },
    );
  }
}

/**
 * A project ID no one uses, starting from one the container's (random) ID picks, so that two
 * stores on one file system, or two creates at once, rarely even try the same one.
 */
export function freeProject(containerId: string, used: Set<number>): number {
  const start = parseInt(containerId.slice(0, 8), 16) % PROJECT_SPAN;
  for (let i = 0; i < 4096; i++) {
    const project = FIRST_PROJECT + ((start + i) % PROJECT_SPAN);
    if (!used.has(project)) return project;
  }
  throw new FailedPrecondition(`choose a quota project: 4096 in a row are in use`);
}

/**
 * Projects with any blocks, inodes or limits on the file system at `mountPoint`, by
 * `report -p -n -N -b -i`: one line per project, `#<id>` then used, soft, hard, warnings
 * and a grace period in brackets (which may hold spaces), for blocks and then inodes.
 */
export function projectsInUse(mountPoint: string, report?: string): Set<number> {
  const text = report ?? xfsQuota(mountPoint, ['report -p -n -N -b -i']);
  const used = new Set<number>();
  for (const line of text.split('\n')) {
    const m = /^#(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const numbers = m[2]!
      .replace(/\[[^\]]*\]/g, ' ')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (numbers.some((n) => n !== 0)) used.add(Number(m[1]));
  }
  return used;
}

/**
 * Runs xfs_quota's expert `commands` on the file system mounted at `mountPoint`. It reports
 * some failures only on stderr, with exit status 0 (a -p path it cannot use), so anything
 * on stderr is a failure too.
 */
function xfsQuota(mountPoint: string, commands: string[], cwd?: string): string {
  const args = ['-x', ...commands.flatMap((c) => ['-c', c]), mountPoint];
  const r = spawnSync(programPath('xfs_quota'), args, { encoding: 'utf8', cwd });
  const stderr = (r.stderr ?? '').trim();
  if (r.error !== undefined || r.status !== 0 || stderr !== '') {
    const why = stderr.split('\n').pop() || r.error?.message || `exit status ${r.status ?? r.signal}`;
    throw new FailedPrecondition(`xfs_quota \`${mountPoint}\`: ${why.replace(/^xfs_quota: /, '')}`, {
      code: 'STORAGE_QUOTA_FAILED',
    });
  }
  return r.stdout;
}
