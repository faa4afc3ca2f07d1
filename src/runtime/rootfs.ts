/**
 * A container's root: an overlay of the image's unpacked layers (lower, top layer first)
 * under the container's own upper/work dirs. The mount options string is limited to one page,
 * so lower dirs are named by short links in <root>/l/ and given relative to the store root —
 * 19 bytes a layer, room for 200 layers — the way containers/storage does it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDigest, type Digest } from '../oci/digest.js';
import { mount, umount, UmountFlags } from '../sys/mount.js';
import { errnoCode, FailedPrecondition } from '../util/errors.js';
import type { Store } from '../store/store.js';

export interface RootfsDirs {
  rootfs: string;
  upper: string;
  work: string;
}

export function rootfsDirs(containerDir: string): RootfsDirs {
  return {
    rootfs: path.join(containerDir, 'rootfs'),
    upper: path.join(containerDir, 'upper'),
    work: path.join(containerDir, 'work'),
  };
}

/** The short link for a layer's diff dir, made on first use. */
function shortLink(store: Store, diffId: Digest): string {
  const dir = store.paths.overlayLinks;
  fs.mkdirSync(dir, { recursive: true });
  const name = parseDigest(diffId).hex.slice(0, 16);
  const link = path.join(dir, name);
  const target = path.relative(dir, store.layers.diffDir(diffId));
  try {
    fs.symlinkSync(target, link);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  return `l/${name}`;
}

export function mountRootfs(store: Store, containerDir: string, diffIds: Digest[]): string {
  const dirs = rootfsDirs(containerDir);
  for (const dir of [dirs.rootfs, dirs.upper, dirs.work]) fs.mkdirSync(dir, { recursive: true });
  if (isMounted(dirs.rootfs)) return dirs.rootfs;
  // overlayfs refuses a directory given twice (ELOOP), and an image may list a layer twice
  // (two steps that changed the same, or nothing). The topmost copy covers everything the
  // lower one would show, its whiteouts included, so the lower one is dropped.
  let lowers = [...new Set([...diffIds].reverse())].map((d) => shortLink(store, d));
  if (lowers.length === 0) {
    const empty = path.join(containerDir, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    lowers = [path.relative(store.paths.root, empty)];
  }
  const rel = (p: string) => path.relative(store.paths.root, p);
  const data = `lowerdir=${lowers.join(':')},upperdir=${rel(dirs.upper)},workdir=${rel(dirs.work)}`;
  if (data.length >= 4096) {
    throw new FailedPrecondition(`mount rootfs: ${diffIds.length} layers do not fit in one overlay mount`);
  }
  // Relative paths in the options resolve against the caller's cwd at mount(2) time.
  const cwd = process.cwd();
  process.chdir(store.paths.root);
  try {
    mount({ source: 'overlay', target: dirs.rootfs, fstype: 'overlay', data });
  } finally {
    process.chdir(cwd);
  }
  return dirs.rootfs;
}

export function unmountRootfs(containerDir: string): void {
  const { rootfs } = rootfsDirs(containerDir);
  if (!isMounted(rootfs)) return;
  try {
    umount(rootfs);
  } catch (err) {
    // Still busy (a process holds a file open): detach it; the kernel frees it when unused.
    if (errnoCode(err) === 'EBUSY') umount(rootfs, UmountFlags.DETACH);
    else if (errnoCode(err) !== 'EINVAL' && errnoCode(err) !== 'ENOENT') throw err;
  }
}

export function isMounted(target: string): boolean {
  const escaped = target.replace(/ /g, '\\040');
  return fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === escaped);
}
