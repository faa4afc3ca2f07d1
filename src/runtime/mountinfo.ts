/**
 * Which mount a path is on, with its file system type and the options the file system itself
 * reports (`super options` in /proc/self/mountinfo: `prjquota` for XFS with project quotas
 * enforced). Read from /proc each time: a store's file system can be remounted between
 * commands, and the kernel prints the quota state it has now, not the one asked for at mount.
 */
import fs from 'node:fs';
import { FailedPrecondition } from '../util/errors.js';

export interface MountEntry {
  /** Where it is mounted, as the kernel prints it (escapes undone). */
  mountPoint: string;
  fsType: string;
  /** The file system's own options: `rw`, `prjquota`, `noquota`, … */
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as `\ooo`. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** One line of /proc/self/mountinfo: `id parent maj:min root point opts [tags…] - type source super`. */
export function parseMountinfoLine(line: string): MountEntry | undefined {
  const fields = line.split(' ');
  const dash = fields.indexOf('-', 6);
  if (fields.length < 10 || dash < 0 || fields[4] === undefined) return undefined;
  return {
    mountPoint: unescape(fields[4]),
    fsType: fields[dash + 1] ?? '',
    superOptions: (fields[dash + 3] ?? '').split(','),
  };
}

/** The mount `file` (which must exist) is on. */
export function mountOf(file: string): MountEntry {
  const real = fs.realpathSync(file);
  const found = mountContaining(real, fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  // `/` is always mounted, so only a broken /proc gets here.
  if (found === undefined) {
    throw new FailedPrecondition(`find the mount of \`${file}\`: none in /proc/self/mountinfo`);
  }
  return found;
}

/**
 * Of the mounts in `mountinfo`, the one with the longest mount point that contains the
 * absolute, symlink-free `file`; the last such when one was mounted over another.
 */
export function mountContaining(file: string, mountinfo: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const line of mountinfo.split('\n')) {
    const entry = parseMountinfoLine(line);
    if (entry === undefined || !contains(entry.mountPoint, file)) continue;
    if (best === undefined || entry.mountPoint.length >= best.mountPoint.length) best = entry;
  }
  return best;
}

function contains(mountPoint: string, file: string): boolean {
  if (mountPoint === '/') return true;
  return file === mountPoint || file.startsWith(`${mountPoint}/`);
}
