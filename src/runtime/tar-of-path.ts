/**
 * A tar of one path as `docker cp` moves it: the path itself under the name it is copied as
 * (a directory with everything below it), symlinks as links, never followed. The archive
 * layer's packDir writes layers (no top entry, whiteouts); this is the copy's shape of a tree.
 *
 * A file is opened only when the writer reaches its data (O_NOFOLLOW), so a consumer that stops
 * early leaves no descriptor open, and a file swapped for a link after the walk saw it is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeTar, type WriteEntry } from '../archive/tar-writer.js';
import type { TarEntry } from '../archive/tar-header.js';
import { majorOf, minorOf } from '../sys/nodes.js';
import { readXattrs } from '../sys/xattr.js';
import { DataLoss } from '../util/errors.js';

const CHUNK = 1 << 20;
/** overlayfs' own attributes describe the layer, not the file. */
const OVERLAY_XATTRS = 'trusted.overlay.';

export interface TarOfPathOptions {
  signal?: AbortSignal;
  /** Directories whose contents are left out (a running container's /proc and /sys mounts). */
  leaveEmpty?: (hostPath: string) => boolean;
}

/** The archive of `hostPath`, its top entry named `name` (a base name, or "." for a directory's content). */
export function tarOfPath(hostPath: string, name: string, options: TarOfPathOptions = {}) {
  return writeTar(entriesOf(hostPath, name, options.leaveEmpty ?? (() => false)), options);
}

/** lstat, or undefined for an entry that went away since its directory was read. */
function lstatIfThere(abs: string, top: boolean): fs.Stats | undefined {
  try {
    return fs.lstatSync(abs);
  } catch (err) {
    if (!top && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function* entriesOf(
  hostPath: string,
  name: string,
  leaveEmpty: (hostPath: string) => boolean,
): AsyncGenerator<WriteEntry> {
  // Regular files with several links: the later names become hard links to the first.
  const firstNames = new Map<string, string>();
  const pending: [abs: string, rel: string][] = [[hostPath, name]];
  while (pending.length > 0) {
    const [abs, rel] = pending.pop()!;
    const st = lstatIfThere(abs, abs === hostPath);
    if (st === undefined) continue;
    const entry: TarEntry = {
      name: rel,
      type: 'file',
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: 0,
      mtime: Math.floor(st.mtimeMs / 1000),
      xattrs: kept(abs),
    };
    if (st.isDirectory()) {
      yield { entry: { ...entry, type: 'dir' } };
      if (abs !== hostPath && leaveEmpty(abs)) continue;
      const children = fs.readdirSync(abs).sort().reverse();
      for (const child of children) pending.push([path.join(abs, child), `${rel}/${child}`]);
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? firstNames.get(key) : undefined;
      if (first !== undefined) {
        yield { entry: { ...entry, type: 'hardlink', linkname: first } };
        continue;
      }
      if (st.nlink > 1) firstNames.set(key, rel);
      yield { entry: { ...entry, size: st.size }, body: fileBody(abs, st.size, rel) };
    } else if (st.isSymbolicLink()) {
      let linkname: string;
      try {
        linkname = fs.readlinkSync(abs);
      } catch (err) {
        // Gone since, or a procfs link that means nothing to a reader outside (/proc/self).
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      yield { entry: { ...entry, type: 'symlink', linkname } };
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const type = st.isCharacterDevice() ? 'char' : 'block';
      yield { entry: { ...entry, type, devmajor: majorOf(st.rdev), devminor: minorOf(st.rdev) } };
    } else if (st.isFIFO()) {
      yield { entry: { ...entry, type: 'fifo' } };
    }
    // Sockets are left out, as GNU tar and Docker do: bytes cannot make one.
  }
}

function kept(abs: string): Map<string, Buffer> | undefined {
  let xattrs: Map<string, Buffer>;
  try {
    xattrs = readXattrs(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  for (const key of xattrs.keys()) if (key.startsWith(OVERLAY_XATTRS)) xattrs.delete(key);
  return xattrs.size > 0 ? xattrs : undefined;
}

async function* fileBody(abs: string, size: number, rel: string): AsyncGenerator<Buffer> {
  const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    if (!fs.fstatSync(fd).isFile())
      throw new DataLoss(`copy \`${rel}\`: it stopped being a regular file while it was read`);
    for (let left = size; left > 0; ) {
      const chunk = Buffer.allocUnsafe(Math.min(left, CHUNK));
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      // Fewer bytes than the header promised: the writer reports the file as changed.
      if (n === 0) return;
      left -= n;
      yield chunk.subarray(0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
}
