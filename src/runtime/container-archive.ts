/**
 * Paths inside a container as the archive endpoints and `cp` see them: stat, a tar out, a tar
 * in. Paths are resolved as Docker resolves them: made absolute and cleaned (`..` lexically),
 * every symlink on the way followed inside the container's root, the last one too only when
 * the path ends in `/` or `/.`. Nothing outside the root is ever read or written (in-root.ts
 * and container-root.ts say how).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Store } from '../store/store.js';
import { errnoCode, FailedPrecondition, InvalidArgument, NotFound } from '../util/errors.js';
import { openContainerRoot, withContainerRoot, type OpenRoot } from './container-root.js';
import { extractInto } from './extract-into.js';
import { secureJoin } from './in-root.js';
import { pathStat, type PathStat } from './path-stat.js';
import type { Runtime } from './runtime.js';
import { tarOfPath } from './tar-of-path.js';

/** A path asked for inside a container, cleaned as Docker cleans it. */
export interface ContainerPath {
  /** Absolute and clean, with a trailing "/" or "/." kept when it was asked with one. */
  abs: string;
  /** Ends in "/" or "/.": the last component is followed even if it is a symlink. */
  followLast: boolean;
  /** What the copy is named: the base name, "/" for the root, "." for a directory's content. */
  name: string;
}

export function containerPath(input: string): ContainerPath {
  if (input === '') throw new InvalidArgument('container path: the path is empty');
  if (input.includes('\0')) throw new InvalidArgument('container path: the path contains a NUL byte');
  // join cleans `.` and `..` but keeps a trailing slash, which is said apart below.
  const clean = path.posix.join('/', input).replace(/(.)\/+$/, '$1');
  const dotted = input.endsWith('/.') || input === '.';
  const slashed = input.endsWith('/');
  const abs = dotted && clean !== '/' ? `${clean}/.` : slashed && clean !== '/' ? `${clean}/` : clean;
  const name = dotted ? '.' : clean === '/' ? '/' : path.posix.basename(clean);
  return { abs, followLast: dotted || slashed || clean === '/', name };
}

/** The host path of `p` inside `root`. */
export function resolveInRoot(root: string, p: ContainerPath): string {
  if (p.followLast) return secureJoin(root, p.abs);
  const clean = p.abs;
  return path.join(secureJoin(root, path.posix.dirname(clean)), path.posix.basename(clean));
}

/** The container path of a host path inside `root`. */
function inContainer(root: string, host: string): string {
  const rel = path.relative(root, host);
  return rel === '' ? '/' : `/${rel}`;
}

function notFound(p: string, input: string): NotFound {
  // Docker's own words: the docker CLI prints them, and scripts look for them.
  return new NotFound(`Could not find the file ${p} in container ${input}`);
}

function lstatOrUndefined(host: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(host);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

function lstatIn(host: string, p: ContainerPath, input: string): fs.Stats {
  const st = lstatOrUndefined(host);
  if (st === undefined) throw notFound(p.abs, input);
  return st;
}

function statOf(open: OpenRoot, host: string, p: ContainerPath, input: string): PathStat {
  const st = lstatIn(host, p, input);
  const target = st.isSymbolicLink() ? inContainer(open.root, secureJoin(open.root, p.abs)) : '';
  return pathStat(p.name, st, target);
}

/** File systems of the kernel's own state, not of the container: copied as empty directories. */
const KERNEL_FILE_SYSTEMS = new Set([
  'proc',
  'sysfs',
  'cgroup',
  'cgroup2',
  'devpts',
  'mqueue',
  'securityfs',
  'debugfs',
  'tracefs',
  'bpf',
]);

/** Whether a directory is the mount point of such a file system, in the open container. */
function kernelMount(open: OpenRoot): (hostPath: string) => boolean {
  const points = new Set(open.mounts.filter((m) => KERNEL_FILE_SYSTEMS.has(m.fsType)).map((m) => m.path));
  return (hostPath) => points.has(hostPath);
}

export function statContainerPath(
  runtime: Runtime,
  store: Store,
  input: string,
  asked: string,
): Promise<PathStat> {
  const p = containerPath(asked);
  return withContainerRoot(runtime, store, input, `stat \`${asked}\``, (open) =>
    statOf(open, resolveInRoot(open.root, p), p, input),
  );
}

export interface ContainerArchive {
  stat: PathStat;
  /** The tar; the container stays open (locked, paused or mounted) until it ends or `close()`. */
  tar: AsyncIterable<Buffer>;
  close(): void;
}

/**
 * A tar of `asked` in the container, its top entry named as the path's last component (so a
 * symlink followed by a trailing "/" keeps the name it was asked by).
 */
export async function archiveContainerPath(
  runtime: Runtime,
  store: Store,
  input: string,
  asked: string,
  options: { signal?: AbortSignal } = {},
): Promise<ContainerArchive> {
  const p = containerPath(asked);
  const open = await openContainerRoot(runtime, store, input, `copy \`${asked}\``);
  try {
    const host = resolveInRoot(open.root, p);
    const stat = statOf(open, host, p, input);
    async function* tar(): AsyncGenerator<Buffer> {
      try {
        yield* tarOfPath(host, p.name === '/' ? '.' : p.name, { ...options, leaveEmpty: kernelMount(open) });
      } finally {
        open.close();
      }
    }
    return { stat, tar: tar(), close: () => open.close() };
  } catch (err) {
    open.close();
    throw err;
  }
}

/**
 * The host directory of `asked` inside an open container, for extraction: it must exist and
 * be a directory once every symlink is followed.
 */
function extractionDir(open: OpenRoot, input: string, asked: string): string {
  const p = containerPath(asked);
  const host = secureJoin(open.root, p.abs);
  if (!lstatIn(host, p, input).isDirectory())
    throw new InvalidArgument(
      `copy into \`${p.abs}\` in container ${input}: extraction point is not a directory`,
    );
  return host;
}

function refuseReadOnly(open: OpenRoot, input: string): void {
  if (open.options.readOnly)
    throw new FailedPrecondition(`copy into container ${input}: its root file system is read-only`);
}

/** What `docker cp` gives files it puts in a container unless asked to keep theirs (`-a`): root's. */
const ROOT_OWNER = { uid: 0, gid: 0 };

/**
 * Extracts the tar `source` into the directory `asked` of the container (`PUT …/archive`).
 * The files are root's unless `copyUIDGID` keeps the archive's owners.
 */
export function extractToContainer(
  runtime: Runtime,
  store: Store,
  input: string,
  asked: string,
  source: AsyncIterable<Buffer>,
  options: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  return withContainerRoot(runtime, store, input, `copy into \`${asked}\``, async (open) => {
    refuseReadOnly(open, input);
    const dir = extractionDir(open, input, asked);
    await writing(input, () =>
      extractInto(dir, source, {
        noOverwriteDirNonDir: options.noOverwriteDirNonDir,
        owner: options.copyUIDGID ? undefined : ROOT_OWNER,
        signal: options.signal,
        mountPoints: open.mounts.map((m) => m.path),
        display: (host) => inContainer(open.root, host),
      }),
    );
  });
}

/** A write the file system refuses (a read-only volume, a full disk) as one clear line. */
async function writing<T>(input: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EROFS')
      throw new FailedPrecondition(`copy into container ${input}: the path is on a read-only file system`, {
        cause: err,
      });
    if (code === 'EBUSY')
      throw new FailedPrecondition(
        `copy into container ${input}: a mount point (a volume, /etc/hosts) cannot be replaced`,
        { cause: err },
      );
    if (code === 'ENOSPC' || code === 'EDQUOT')
      throw new FailedPrecondition(`copy into container ${input}: no space left`, { cause: err });
    throw err;
  }
}

/**
 * `skiff cp CONTAINER:SRC HOSTDEST`, as `docker cp` does it: into HOSTDEST when it is a
 * directory, else onto it (its parent must exist); a directory never goes onto a file.
 */
export function copyFromContainer(
  runtime: Runtime,
  store: Store,
  input: string,
  asked: string,
  hostDest: string,
): Promise<void> {
  const p = containerPath(asked);
  return withContainerRoot(runtime, store, input, `copy \`${asked}\``, async (open) => {
    const host = resolveInRoot(open.root, p);
    const isDir = lstatIn(host, p, input).isDirectory();
    const { dir, rename } = hostTarget(hostDest, isDir, p.name === '/' ? '.' : p.name);
    const tar = tarOfPath(host, p.name === '/' ? '.' : p.name, { leaveEmpty: kernelMount(open) });
    await extractInto(dir, tar, { rebase: rename });
  });
}

/** Where on the host a copy named `name` goes: the directory, and the new name if it changes. */
function hostTarget(
  dest: string,
  isDir: boolean,
  name: string,
): { dir: string; rename?: { from: string; to: string } } {
  const st = statOrUndefined(dest);
  if (st?.isDirectory()) return { dir: dest };
  if (st !== undefined && isDir)
    throw new InvalidArgument(`copy to \`${dest}\`: cannot copy a directory onto a file`);
  if (st === undefined && dest.endsWith('/') && !isDir)
    throw new NotFound(`copy to \`${dest}\`: no such directory`);
  const dir = path.dirname(path.resolve(dest));
  if (!statOrUndefined(dir)?.isDirectory())
    throw new NotFound(`copy to \`${dest}\`: the directory \`${dir}\` does not exist`);
  return { dir, rename: { from: name, to: path.basename(path.resolve(dest)) } };
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * `skiff cp HOSTSRC CONTAINER:DEST`: into DEST when it is a directory in the container, else
 * onto it (its parent must exist there). A trailing "/." on HOSTSRC copies what is in it.
 */
export function copyToContainer(
  runtime: Runtime,
  store: Store,
  hostSrc: string,
  input: string,
  asked: string,
): Promise<void> {
  const srcStat = lstatOrUndefined(hostSrc);
  if (srcStat === undefined) throw new NotFound(`copy \`${hostSrc}\`: no such file or directory`);
  const srcName = hostSrc.endsWith('/.') ? '.' : path.basename(path.resolve(hostSrc));
  return withContainerRoot(runtime, store, input, `copy into \`${asked}\``, async (open) => {
    refuseReadOnly(open, input);
    const p = containerPath(asked);
    const full = secureJoin(open.root, p.abs);
    const there = lstatOrUndefined(full);
    let dir: string;
    let name = srcName;
    if (there?.isDirectory()) {
      dir = full;
    } else {
      if (there !== undefined && srcStat.isDirectory())
        throw new InvalidArgument(
          `copy into \`${p.abs}\` in container ${input}: cannot copy a directory onto a file`,
        );
      if (p.followLast && there === undefined) throw notFound(p.abs, input);
      dir = extractionDir(open, input, path.posix.dirname(p.abs));
      name = path.posix.basename(p.abs);
    }
    const rebase = name === srcName ? undefined : { from: srcName, to: name };
    await writing(input, () =>
      extractInto(dir, tarOfPath(hostSrc, srcName), {
        rebase,
        owner: ROOT_OWNER,
        mountPoints: open.mounts.map((m) => m.path),
        display: (host) => inContainer(open.root, host),
      }),
    );
  });
}
