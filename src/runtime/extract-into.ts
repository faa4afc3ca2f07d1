/**
 * A `docker cp` tar put down in an existing directory: what the archive holds is merged with
 * what is there, an existing directory kept where the archive has one, anything else replaced.
 *
 * The archive is first unpacked by the archive layer's own safe extraction (apply-layer.ts)
 * into a fresh staging directory made inside the target: no name can leave it (`..`, absolute
 * names, a link used as a parent are refused there), and a bad archive fails before the target
 * is touched. Then, with every conflict checked first, the staged entries are moved into place
 * by rename(2) — one write of the data, on the target's own file system (a copy where a mount
 * below the target is another file system). Nothing under the target is followed: existing
 * entries are looked at with lstat and a symlink in the way is replaced, never written
 * through. On any failure the staging directory goes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyLayer } from '../archive/apply-layer.js';
import { readTar } from '../archive/tar-reader.js';
import { writeTar, type WriteEntry } from '../archive/tar-writer.js';
import { majorOf, minorOf, mknod } from '../sys/nodes.js';
import { getXattr, readXattrs, setXattr } from '../sys/xattr.js';
import { tempName } from '../util/atomic.js';
import { FailedPrecondition, InvalidArgument } from '../util/errors.js';

export interface ExtractOptions {
  /** Refuse to replace a directory by a non-directory or the reverse (the CLI always asks). */
  noOverwriteDirNonDir?: boolean;
  /** The archive's top entry `from` is put down as `to` (`cp` onto a new name). */
  rebase?: { from: string; to: string };
  /**
   * Mount points under the target (host paths): never removed or replaced. Seen from outside
   * the container's mount namespace the kernel would let a rename detach one (a volume, the
   * /etc/hosts skiff keeps up to date), or a recursive removal empty a volume.
   */
  mountPoints?: readonly string[];
  /** Everything is given this owner instead of the archive's (`docker cp` without `-a`). */
  owner?: { uid: number; gid: number };
  /** Host path → the path to name in messages (the container's view). */
  display?: (hostPath: string) => string;
  signal?: AbortSignal;
}

/** Names overlayfs and OCI layers give a meaning: a copied file must not smuggle one in. */
const WHITEOUT = '.wh.';

/** Extracts the tar `source` into the existing directory `dir`. */
export async function extractInto(
  dir: string,
  source: AsyncIterable<Buffer>,
  options: ExtractOptions = {},
): Promise<void> {
  const display = options.display ?? ((p: string) => p);
  if (!fs.lstatSync(dir).isDirectory())
    throw new InvalidArgument(`extract into \`${display(dir)}\`: not a directory`);
  const staging = tempName(dir, '.skiff-cp-');
  fs.mkdirSync(staging, { mode: 0o700 });
  try {
    await applyLayer(writeTar(checkedEntries(source, options)), staging, { signal: options.signal });
    checkReplacements(staging, dir, {
      noOverwrite: options.noOverwriteDirNonDir ?? false,
      mountPoints: options.mountPoints ?? [],
      display,
    });
    moveInto(staging, dir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The archive's entries, re-encoded for applyLayer: whiteout names refused (applyLayer would
 * make them overlay whiteouts) and the rebase applied to names and hard link targets.
 */
async function* checkedEntries(
  source: AsyncIterable<Buffer>,
  options: ExtractOptions,
): AsyncGenerator<WriteEntry> {
  for await (const { entry, body } of readTar(source, { signal: options.signal })) {
    if (entry.name.split('/').some((part) => part.startsWith(WHITEOUT)))
      throw new InvalidArgument(
        `extract \`${entry.name}\`: names beginning with ${WHITEOUT} are reserved for layer whiteouts`,
      );
    const { rebase, owner } = options;
    const renamed = {
      ...entry,
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      ...(rebase ? { name: rebased(entry.name, rebase) } : {}),
      ...(rebase && entry.type === 'hardlink' && entry.linkname !== undefined
        ? { linkname: rebased(entry.linkname, rebase) }
        : {}),
    };
    yield { entry: renamed, body: entry.type === 'file' ? body : undefined };
  }
}

/** `from/x` → `to/x`; `./x` counts as `x`, and a top entry "." is the directory itself. */
function rebased(name: string, { from, to }: { from: string; to: string }): string {
  let rest = name;
  while (rest.startsWith('./')) rest = rest.slice(2);
  if (from === '.') return rest === '' || rest === '.' ? `${to}/` : `${to}/${rest}`;
  if (rest === from || rest.startsWith(`${from}/`)) return `${to}${rest.slice(from.length)}`;
  return name;
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Before anything moves, every path the move would replace: with `noOverwrite` none may
 * change kind (directory ↔ non-directory), and none may be or hold a mount point.
 */
function checkReplacements(
  staged: string,
  target: string,
  o: { noOverwrite: boolean; mountPoints: readonly string[]; display: (p: string) => string },
): void {
  for (const name of fs.readdirSync(staged)) {
    const from = path.join(staged, name);
    const to = path.join(target, name);
    const mine = fs.lstatSync(from).isDirectory();
    const there = lstatOrUndefined(to);
    if (there === undefined) continue;
    // A directory there, and a real one (lstat): merged, so what is below it counts.
    if (mine && there.isDirectory()) {
      checkReplacements(from, to, o);
      continue;
    }
    if (o.noOverwrite && mine)
      throw new FailedPrecondition(
        `extract: cannot overwrite non-directory \`${o.display(to)}\` with a directory`,
      );
    if (o.noOverwrite && there.isDirectory())
      throw new FailedPrecondition(
        `extract: cannot overwrite directory \`${o.display(to)}\` with a non-directory`,
      );
    if (o.mountPoints.some((m) => m === to || m.startsWith(`${to}/`)))
      throw new FailedPrecondition(
        `extract: \`${o.display(to)}\` is or holds a mount point (a volume, a file skiff binds in); it cannot be replaced`,
      );
  }
}

/** Moves everything in `staged` into `target`, merging directories both have. */
function moveInto(staged: string, target: string): void {
  for (const name of fs.readdirSync(staged)) {
    const from = path.join(staged, name);
    const to = path.join(target, name);
    const mine = fs.lstatSync(from);
    const there = lstatOrUndefined(to);
    if (mine.isDirectory() && there?.isDirectory()) {
      moveInto(from, to);
      copyMetadata(from, mine, to);
      continue;
    }
    if (there !== undefined) fs.rmSync(to, { recursive: true, force: true });
    try {
      fs.renameSync(from, to);
    } catch (err) {
      // `target` is another file system than the staging directory (a volume mounted below it).
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      copyTree(from, to);
    }
  }
}

/** `from` recreated at `to` (which does not exist), with owners, modes, attributes and times. */
function copyTree(from: string, to: string): void {
  const st = fs.lstatSync(from);
  if (st.isDirectory()) {
    fs.mkdirSync(to, { mode: 0o700 });
    for (const name of fs.readdirSync(from)) copyTree(path.join(from, name), path.join(to, name));
    copyMetadata(from, st, to);
    return;
  }
  if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(from), to);
  } else if (st.isFile()) {
    fs.copyFileSync(from, to, fs.constants.COPYFILE_EXCL);
  } else if (st.isFIFO()) {
    mknod(to, 'fifo', 0o600);
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    mknod(to, st.isCharacterDevice() ? 'char' : 'block', 0o600, majorOf(st.rdev), minorOf(st.rdev));
  } else {
    return;
  }
  fs.lchownSync(to, st.uid, st.gid);
  // A link has no mode of its own; chmod would follow it. Our own new node otherwise.
  if (!st.isSymbolicLink()) fs.chmodSync(to, st.mode & 0o7777);
  for (const [name, value] of readXattrs(from)) setXattr(to, name, value);
  fs.lutimesSync(to, st.atime, st.mtime);
}

/** An existing directory takes the archive's owner, mode, attributes and time, as Docker's does. */
function copyMetadata(from: string, st: fs.Stats, to: string): void {
  fs.lchownSync(to, st.uid, st.gid);
  fs.chmodSync(to, st.mode & 0o7777);
  for (const [name, value] of readXattrs(from))
    if (!getXattr(to, name)?.equals(value)) setXattr(to, name, value);
  fs.lutimesSync(to, st.atime, st.mtime);
}
