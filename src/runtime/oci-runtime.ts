/**
 * Which OCI runtime binary runs containers, and the one host problem that decides it.
 *
 * crun is the default (it starts faster than runc). crun 1.8.1 refuses every container on a
 * "hybrid" cgroup host whose cgroup2 mount still offers controllers ("cgroups in hybrid mode
 * not supported, drop all controllers from cgroupv2"); runc 1.1.5 does not care. The fix is
 * to bind those controllers to cgroup v1 hierarchies, after which the kernel keeps them there
 * until reboot. A user must never meet crun's message, so this file detects the condition,
 * applies the fix when it can, and otherwise falls back to runc with a one-line notice.
 */
import fs from 'node:fs';
import path from 'node:path';

import { mount } from '../sys/mount.js';
import { errnoCode, FailedPrecondition, InvalidArgument } from '../util/errors.js';
import { findProgram, programSearchPath, PROGRAMS } from '../util/programs.js';

export type RuntimeName = 'crun' | 'runc';

export interface RuntimeChoice {
  name: RuntimeName;
  path: string;
  /** One line for the user when skiff chose something other than what was asked for. */
  notice?: string;
}

export interface ChooseRuntimeOptions {
  /** The cgroup mount root; a test points it at a fake tree. */
  cgroupRoot?: string;
  /** Bind cgroup2's controllers to v1 when crun would refuse (only as root). Default true. */
  applyFix?: boolean;
  /** Directories searched for the binaries; default PATH plus the sbin directories. */
  searchPath?: string[];
  /** Where mounts are listed, for the idempotence check; a test may point it elsewhere. */
  mountInfo?: string;
}

export function chooseRuntime(preference?: string, options: ChooseRuntimeOptions = {}): RuntimeChoice {
  if (preference !== undefined && preference !== 'crun' && preference !== 'runc') {
    throw new InvalidArgument(`choose runtime \`${preference}\`: unknown runtime (use crun or runc)`);
  }
  const dirs = options.searchPath ?? programSearchPath();
  if (preference === 'runc') return { name: 'runc', path: requireBinary('runc', dirs) };

  const crun = requireBinary('crun', dirs);
  const root = options.cgroupRoot ?? '/sys/fs/cgroup';
  const blocking = hybridControllers(root);
  if (blocking.length === 0) return { name: 'crun', path: crun };

  let failure: string;
  if (options.applyFix === false) {
    failure = 'fixing it was not allowed';
  } else if (process.getuid?.() !== 0) {
    failure = 'fixing it needs root';
  } else {
    try {
      bindToV1(root, blocking, options.mountInfo ?? '/proc/self/mountinfo');
      return { name: 'crun', path: crun };
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
  }
  const why = `cgroup v2 holds controllers crun 1.8.1 cannot use (${blocking.join(', ')}) and ${failure}`;
  // An explicit --runtime crun is a request we cannot honour; only the default may change.
  if (preference === 'crun') throw new FailedPrecondition(`use runtime \`crun\`: ${why}`);
  const runc = findProgram('runc', dirs);
  if (runc === undefined) {
    throw new FailedPrecondition(
      `use runtime \`crun\`: ${why}, and runc is not installed (apt-get install runc)`,
    );
  }
  return { name: 'runc', path: runc, notice: `using runc instead of crun: ${why}` };
}

/**
 * The controllers enabled on a hybrid host's cgroup2 mount (`<root>/unified`). Empty on a
 * pure v1 host (no such mount), on a pure v2 host (no `unified` directory) and on a hybrid
 * host that has been fixed.
 */
export function hybridControllers(cgroupRoot: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(cgroupRoot, 'unified', 'cgroup.controllers'), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
  return text.split(/\s+/).filter((c) => c !== '');
}

/**
 * The fix of docs/host.md#crun-and-hybrid-cgroups, generalised from hugetlb to whatever
 * cgroup2 offers:
 * `mkdir -p <root>/<c> && mount -t cgroup -o <c> cgroup <root>/<c>`. A successful v1 mount
 * is itself the proof: the kernel binds a controller to one hierarchy version at a time.
 * Skips any controller already mounted there, so running it twice changes nothing.
 */
function bindToV1(cgroupRoot: string, controllers: string[], mountInfo: string): void {
  const mounted = cgroupV1Mounts(fs.readFileSync(mountInfo, 'utf8'));
  for (const controller of controllers) {
    if (!/^[a-z_]+$/.test(controller)) throw new Error(`unexpected controller name \`${controller}\``);
    const target = path.join(cgroupRoot, controller);
    if (mounted.get(target)?.includes(controller)) continue;
    fs.mkdirSync(target, { recursive: true });
    mount({ source: 'cgroup', target, fstype: 'cgroup', data: controller });
  }
}

/** Mount point → super options of every cgroup v1 mount in a mountinfo text. */
export function cgroupV1Mounts(mountInfo: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of mountInfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const [fstype, , superOptions] = after.split(' ');
    const mountPoint = before.split(' ')[4];
    if (fstype !== 'cgroup' || mountPoint === undefined) continue;
    out.set(unescapeMountInfo(mountPoint), (superOptions ?? '').split(','));
  }
  return out;
}

/** mountinfo writes space, tab, newline and backslash as \ooo octal escapes. */
function unescapeMountInfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function requireBinary(name: RuntimeName, dirs: string[]): string {
  const found = findProgram(name, dirs);
  if (found === undefined) {
    throw new FailedPrecondition(
      `find runtime \`${name}\`: not installed (apt-get install ${PROGRAMS[name].package})`,
      { code: 'RUNTIME_MISSING' },
    );
  }
  return found;
}
