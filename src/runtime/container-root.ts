/**
 * A container's file system, opened from the host for `cp` and the archive endpoints.
 *
 * A running container is reached through `/proc/<pid>/root`: that is the tree its processes
 * see, with its volumes, tmpfs mounts and the /etc/hosts, /etc/resolv.conf and /etc/hostname
 * skiff binds in, not only the overlay underneath. It is paused (frozen) while it is open,
 * as Podman's `cp --pause` does: every path is resolved by hand inside the root (in-root.ts),
 * and a process of the container swapping a checked directory for a symlink between that check
 * and our open would otherwise lead the host's lookup out of the root (CVE-2018-15664).
 *
 * A container that is not running gets its overlay rootfs mounted for the copy and unmounted
 * after. Either way the container's lock is held while it is open, so a start or an exit
 * cannot mount, unmount or tear down the root under the copy.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Store } from '../store/store.js';
import { lock } from '../sys/flock.js';
import { FailedPrecondition } from '../util/errors.js';
import { parseMountinfoLine } from './mountinfo.js';
import { freeze, isPaused, thawAfterUse } from './pause.js';
import { isAlive } from './procfs.js';
import type { ContainerRow, CreateOptions } from './records.js';
import { isMounted, mountRootfs, rootfsDirs, unmountRootfs } from './rootfs.js';
import type { Runtime } from './runtime.js';

export interface OpenRoot {
  row: ContainerRow;
  options: CreateOptions;
  /** The host path of the container's `/`. */
  root: string;
  /** The mounts inside the root (volumes, tmpfs, /proc, the bound /etc/hosts…), by host path. */
  mounts: { path: string; fsType: string }[];
  /** Thaws or unmounts as needed and drops the lock; safe to call more than once. */
  close(): void;
}

/**
 * Opens the file system of container `input`; `what` names the operation in errors. The
 * caller must `close()` it, on success and failure alike.
 */
export async function openContainerRoot(
  runtime: Runtime,
  store: Store,
  input: string,
  what: string,
): Promise<OpenRoot> {
  const found = runtime.inspect(input);
  const dir = runtime.containerDir(found.id);
  const held = await lock(path.join(dir, 'lock'), 'exclusive');
  const undo: (() => void)[] = [() => held.release()];
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    let first: unknown;
    for (const step of undo.reverse()) {
      try {
        step();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  };
  try {
    const row = runtime.records.get(found.id);
    if (!row) throw new FailedPrecondition(`${what}: container \`${input}\` was removed meanwhile`);
    const options = JSON.parse(row.spec) as CreateOptions;
    if (row.state === 'running' && isAlive(row.pid, row.pid_start)) {
      if (!isPaused(row)) {
        freeze(row);
        undo.push(() => thawAfterUse(row));
      }
      // The trailing slash: `/proc/<pid>/root` itself is a (magic) symlink to lstat.
      const root = `/proc/${row.pid}/root/`;
      return { row, options, root, mounts: mountsInside(row.pid!, root), close };
    }
    const { rootfs } = rootfsDirs(dir);
    // A run whose exit is not recorded yet still has its rootfs mounted: its teardown unmounts it.
    if (!isMounted(rootfs)) {
      mountRootfs(store, dir, store.meta.imageLayers(row.image_id));
      undo.push(() => unmountRootfs(dir));
    }
    // The overlay alone: volumes and binds are mounted only in a running container's namespace.
    return { row, options, root: rootfs, mounts: [], close };
  } catch (err) {
    try {
      close();
    } catch {
      // The first failure is the one to report.
    }
    throw err;
  }
}

/** The mounts of process `pid`'s namespace below its root, as host paths under `root`. */
function mountsInside(pid: number, root: string): OpenRoot['mounts'] {
  const text = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  const mounts: OpenRoot['mounts'] = [];
  for (const line of text.split('\n')) {
    const entry = parseMountinfoLine(line);
    if (entry === undefined || entry.mountPoint === '/') continue;
    mounts.push({ path: path.join(root, entry.mountPoint), fsType: entry.fsType });
  }
  return mounts;
}

/** Runs `fn` on the open file system of container `input`, and closes it after. */
export async function withContainerRoot<T>(
  runtime: Runtime,
  store: Store,
  input: string,
  what: string,
  fn: (open: OpenRoot) => Promise<T> | T,
): Promise<T> {
  const open = await openContainerRoot(runtime, store, input, what);
  let result: T;
  try {
    result = await fn(open);
  } catch (err) {
    try {
      open.close();
    } catch {
      // The failure of `fn` is the one to report.
    }
    throw err;
  }
  open.close();
  return result;
}
