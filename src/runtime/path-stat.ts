/**
 * What `HEAD /containers/{id}/archive` reports of a path: Docker's ContainerPathStat, whose
 * `mode` is Go's os.FileMode — the permission bits in the low 9 bits, and the file type and
 * setuid/setgid/sticky as single high bits, not where stat(2) keeps them. The docker CLI reads
 * those bits (a directory decides whether `cp` copies into it or onto it; a symlink makes it
 * follow `linkTarget`), so they must be Go's exactly.
 */
import type fs from 'node:fs';

/** Go's os.FileMode bits (io/fs: ModeDir = 1 << 31 … ModeIrregular = 1 << 19). */
export const GO_MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
  irregular: 2 ** 19,
} as const;

export interface PathStat {
  /** The base name of the path as asked for ("/" for the root). */
  name: string;
  size: number;
  /** Go's os.FileMode as an unsigned 32-bit number. */
  mode: number;
  /** RFC 3339. */
  mtime: string;
  /** For a symlink: where it leads, fully resolved inside the container; else "". */
  linkTarget: string;
}

/**
 * Go's os.FileMode of an lstat result, as Go's os.Lstat builds it (os/stat_linux.go). Sums,
 * not `|`: JavaScript's bitwise operators are signed 32-bit, and 1 << 31 would turn negative.
 */
export function goFileMode(st: Pick<fs.Stats, 'mode'>): number {
  const mode = st.mode;
  let go = mode & 0o777;
  switch (mode & 0o170000) {
    case 0o040000:
      go += GO_MODE.dir;
      break;
    case 0o120000:
      go += GO_MODE.symlink;
      break;
    case 0o020000:
      go += GO_MODE.device + GO_MODE.charDevice;
      break;
    case 0o060000:
      go += GO_MODE.device;
      break;
    case 0o010000:
      go += GO_MODE.namedPipe;
      break;
    case 0o140000:
      go += GO_MODE.socket;
      break;
  }
  if (mode & 0o4000) go += GO_MODE.setuid;
  if (mode & 0o2000) go += GO_MODE.setgid;
  if (mode & 0o1000) go += GO_MODE.sticky;
  return go;
}

/** Whether a Go file mode names a directory (the CLI's `IsDir()`). */
export function isGoDir(mode: number): boolean {
  return mode >= GO_MODE.dir;
}

export function pathStat(
  name: string,
  st: Pick<fs.Stats, 'mode' | 'size' | 'mtime'>,
  linkTarget = '',
): PathStat {
  return { name, size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget };
}
