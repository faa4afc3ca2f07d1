/**
 * Paths inside a container's rootfs, read from the host. The rootfs belongs to the image and
 * the container, so any symlink in it may point anywhere (`/etc/passwd -> /host/secret` or
 * `../../../etc/shadow`); resolving it with the host's view would read or write host files.
 * Like filepath-securejoin, every symlink is resolved by hand with `/` meaning the rootfs
 * and `..` stopping at it. What remains is a race with a process inside a running container
 * swapping a directory for a link between our checks; the final open refuses links
 * (O_NOFOLLOW), and skiff only does this before the container starts or while it is paused
 * (container-root.ts).
 */
import fs from 'node:fs';
import path from 'node:path';

import { errnoCode, InvalidArgument } from '../util/errors.js';

/** Linux's own limit on links followed in one lookup (MAXSYMLINKS is 40; be generous like securejoin). */
const MAX_LINKS = 255;

/** The host path that `unsafe` names inside `root`, every symlink resolved within `root`. */
export function secureJoin(root: string, unsafe: string): string {
  const pending = split(unsafe);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = path.join(root, ...resolved, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(host);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') throw err;
      // Nothing more to resolve: the rest is taken literally, still clamped at the root.
      resolved.push(part);
      for (const rest of pending) {
        if (rest === '..') resolved.pop();
        else if (rest !== '.') resolved.push(rest);
      }
      break;
    }
    if (!st.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS)
      throw new InvalidArgument(`resolve \`${unsafe}\` in \`${root}\`: too many symbolic links`);
    const target = fs.readlinkSync(host);
    if (path.isAbsolute(target)) resolved.length = 0;
    pending.unshift(...split(target));
  }
  return path.join(root, ...resolved);
}

function split(p: string): string[] {
  return p.split('/').filter((c) => c !== '');
}

/**
 * A regular file inside the rootfs, or undefined if it does not exist. Refuses anything but a
 * regular file (a FIFO would block, a device could be anything) and anything over `maxBytes`.
 */
export function readFileInRoot(root: string, file: string, maxBytes = 16 * 1024 * 1024): string | undefined {
  const host = secureJoin(root, file);
  let fd: number;
  try {
    fd = fs.openSync(host, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new InvalidArgument(`read \`${file}\` in the container: not a regular file`);
    if (st.size > maxBytes)
      throw new InvalidArgument(`read \`${file}\` in the container: larger than ${maxBytes} bytes`);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `mkdir -p` inside the rootfs; directories it makes get `uid:gid` (Podman gives a created
 * working directory to the container's user). Returns the host path.
 */
export function mkdirInRoot(
  root: string,
  dir: string,
  owner: { uid: number; gid: number },
  mode = 0o755,
): string {
  let sofar = '/';
  let host = root;
  for (const part of split(dir)) {
    sofar = path.posix.join(sofar, part);
    host = secureJoin(root, sofar);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(host);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (st === undefined) {
      fs.mkdirSync(host, { mode });
      fs.lchownSync(host, owner.uid, owner.gid);
    } else if (!st.isDirectory()) {
      throw new InvalidArgument(
        `create directory \`${dir}\` in the container: \`${sofar}\` is not a directory`,
      );
    }
  }
  return host;
}
