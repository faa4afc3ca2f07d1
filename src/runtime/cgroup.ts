/**
 * Where a running process's cgroup files are. Never assumed from the layout skiff asked the
 * runtime for: read from /proc/<pid>/cgroup (`id:controllers:path` per hierarchy, `0::path`
 * for the unified one) and the cgroup mounts in /proc/self/mountinfo, so cgroup v1, v2 and the
 * hybrid of both (v1 controllers beside a mostly empty cgroup2 mount) are all found the same way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseMountinfoLine } from './mountinfo.js';

export interface CgroupMembership {
  /** v1 controller (`memory`, `cpuacct`, `name=systemd`, …) → path within its hierarchy. */
  v1: Map<string, string>;
  /** The path in the unified (cgroup2) hierarchy, when the process has one. */
  v2?: string;
}

export interface CgroupMounts {
  /** v1 controller → where its hierarchy is mounted. */
  v1: Map<string, string>;
  v2?: string;
}

/** /proc/<pid>/cgroup. */
export function parseProcCgroup(text: string): CgroupMembership {
  const out: CgroupMembership = { v1: new Map() };
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const where = line.slice(second + 1);
    if (line.slice(0, first) === '0' && controllers === '') out.v2 = where;
    else for (const c of controllers.split(',')) if (c !== '') out.v1.set(c, where);
  }
  return out;
}

/** The cgroup mounts of a mountinfo text; the first mount of each hierarchy wins. */
export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const out: CgroupMounts = { v1: new Map() };
  for (const line of mountinfo.split('\n')) {
    const entry = parseMountinfoLine(line);
    if (!entry) continue;
    if (entry.fsType === 'cgroup2') out.v2 ??= entry.mountPoint;
    else if (entry.fsType === 'cgroup')
      for (const option of entry.superOptions)
        if (option !== 'rw' && option !== 'ro' && !out.v1.has(option)) out.v1.set(option, entry.mountPoint);
  }
  return out;
}

export class Cgroup {
  constructor(
    private readonly membership: CgroupMembership,
    private readonly mounts: CgroupMounts,
  ) {}

  /** The cgroup of `pid`, or undefined when the process is gone. */
  static of(pid: number): Cgroup | undefined {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      return undefined;
    }
    return new Cgroup(
      parseProcCgroup(text),
      parseCgroupMounts(fs.readFileSync('/proc/self/mountinfo', 'utf8')),
    );
  }

  /**
   * The directory holding `controller`'s files: its v1 hierarchy when one is mounted (on a
   * hybrid host the unified one has no controllers), else the unified directory.
   */
  dir(controller: string): string | undefined {
    const v1 = this.mounts.v1.get(controller);
    const inV1 = this.membership.v1.get(controller);
    if (v1 !== undefined && inV1 !== undefined) return path.join(v1, inV1);
    if (this.mounts.v2 !== undefined && this.membership.v2 !== undefined)
      return path.join(this.mounts.v2, this.membership.v2);
    return undefined;
  }

  /** Whether `controller` is read from a cgroup2 directory (its files have v2 names). */
  unified(controller: string): boolean {
    return !(this.mounts.v1.has(controller) && this.membership.v1.has(controller));
  }

  /** A file of `controller`, as text; undefined when it is missing. */
  read(controller: string, file: string): string | undefined {
    const dir = this.dir(controller);
    if (dir === undefined) return undefined;
    try {
      return fs.readFileSync(path.join(dir, file), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** The pids of every process in the cgroup (the pids controller's view, any hierarchy's will do). */
  processes(): number[] {
    const text = this.read('pids', 'cgroup.procs') ?? this.read('memory', 'cgroup.procs') ?? '';
    return text
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map(Number);
  }
}
