/**
 * The default seccomp profile: containers-common's `seccomp.json` (Debian package
 * golang-github-containers-common, installed with podman) filtered for one container exactly
 * as containers/common `pkg/seccomp` `setupSeccomp` does: keep the native architecture's
 * entry of `archMap`, then drop every rule group whose `includes` the container does not meet
 * or whose `excludes` it does (arches, capabilities in the bounding set, minimum kernel).
 * Read at run time rather than embedded, so a security update of that package applies to
 * skiff without a rebuild.
 */
import fs from 'node:fs';
import os from 'node:os';

import { errnoCode, FailedPrecondition, InvalidArgument } from '../util/errors.js';

export const DEFAULT_PROFILE_PATH = '/usr/share/containers/seccomp.json';

/** The profile file's format (containers/common `pkg/seccomp/types.go`). */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  flags?: string[];
  syscalls?: ProfileSyscall[];
}

interface ProfileSyscall {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  includes?: Filter;
  excludes?: Filter;
}

interface Filter {
  arches?: string[];
  caps?: string[];
  minKernel?: string;
}

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

/** The `linux.seccomp` section of config.json (runtime-spec config-linux.md "Seccomp"). */
export interface SeccompSection {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: { names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }[];
}

export interface Host {
  /** Go's name of the native architecture, as the profile's `arches` use it: amd64, arm64 … */
  arch: string;
  /** The running kernel's release, e.g. "6.18.0-1-amd64". */
  kernel: string;
}

/** Go architecture name → libseccomp's (containers/common `nativeToSeccomp`). */
const SECCOMP_ARCH: Record<string, string> = {
  x86: 'SCMP_ARCH_X86',
  amd64: 'SCMP_ARCH_X86_64',
  arm: 'SCMP_ARCH_ARM',
  arm64: 'SCMP_ARCH_AARCH64',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  mipsel64n32: 'SCMP_ARCH_MIPSEL64N32',
  mipsle: 'SCMP_ARCH_MIPSEL',
  ppc: 'SCMP_ARCH_PPC',
  ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390',
  s390x: 'SCMP_ARCH_S390X',
};

/** uname's machine → Go's architecture name. */
const GO_ARCH: Record<string, string> = {
  x86_64: 'amd64',
  i386: 'x86',
  i686: 'x86',
  aarch64: 'arm64',
  armv7l: 'arm',
  armv6l: 'arm',
  ppc64le: 'ppc64le',
  ppc64: 'ppc64',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64: 'mips64',
};

export function hostInfo(): Host {
  return { arch: GO_ARCH[os.machine()] ?? os.machine(), kernel: os.release() };
}

let cached: { path: string; profile: SeccompProfile } | undefined;

/** Reads and checks the profile file once per process. */
export function loadProfile(file = DEFAULT_PROFILE_PATH): SeccompProfile {
  if (cached?.path === file) return cached.profile;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new FailedPrecondition(
        `read seccomp profile \`${file}\`: missing (apt-get install golang-github-containers-common, or run with --security-opt seccomp=unconfined)`,
        { cause: err, code: 'SECCOMP_PROFILE_MISSING' },
      );
    }
    throw new FailedPrecondition(`read seccomp profile \`${file}\`: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let profile: SeccompProfile;
  try {
    profile = JSON.parse(text) as SeccompProfile;
  } catch (err) {
    throw new InvalidArgument(`parse seccomp profile \`${file}\`: ${(err as Error).message}`, { cause: err });
  }
  if (typeof profile !== 'object' || profile === null || typeof profile.defaultAction !== 'string') {
    throw new InvalidArgument(`parse seccomp profile \`${file}\`: no defaultAction`);
  }
  cached = { path: file, profile };
  return profile;
}

/** The default profile for a container whose bounding set is `caps` (names with CAP_). */
export function defaultSeccomp(caps: string[]): SeccompSection {
  return filterProfile(loadProfile(), caps, hostInfo());
}

/** containers/common `setupSeccomp`, step for step; pure, so a test can give any host. */
export function filterProfile(profile: SeccompProfile, caps: readonly string[], host: Host): SeccompSection {
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new InvalidArgument(`parse seccomp profile: both 'architectures' and 'archMap' are set; use one`);
  }
  const section: SeccompSection = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) section.defaultErrnoRet = profile.defaultErrnoRet;

  let architectures: string[] = [...(profile.architectures ?? [])];
  const native = SECCOMP_ARCH[host.arch];
  for (const entry of profile.archMap ?? []) {
    if (native !== undefined && entry.architecture === native) {
      architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
      break;
    }
  }
  if (architectures.length > 0) section.architectures = architectures;
  if (profile.flags?.length) section.flags = [...profile.flags];

  const granted = new Set(caps);
  const syscalls: NonNullable<SeccompSection['syscalls']> = [];
  for (const call of profile.syscalls ?? []) {
    const { includes = {}, excludes = {} } = call;
    if (excludes.arches?.includes(host.arch)) continue;
    if (excludes.caps?.some((c) => granted.has(c))) continue;
    if (excludes.minKernel && kernelAtLeast(host.kernel, excludes.minKernel)) continue;
    if (includes.arches?.length && !includes.arches.includes(host.arch)) continue;
    if (includes.caps?.length && !includes.caps.every((c) => granted.has(c))) continue;
    if (includes.minKernel && !kernelAtLeast(host.kernel, includes.minKernel)) continue;

    const names = call.name ? [call.name] : [...(call.names ?? [])];
    const rule: NonNullable<SeccompSection['syscalls']>[number] = { names, action: call.action };
    if (call.errnoRet !== undefined) rule.errnoRet = call.errnoRet;
    if (call.args?.length) {
      // Go's runtime-spec types drop a zero valueTwo (omitempty); match them byte for byte.
      rule.args = call.args.map((a) =>
        a.valueTwo
          ? { index: a.index, value: a.value, valueTwo: a.valueTwo, op: a.op }
          : { index: a.index, value: a.value, op: a.op },
      );
    }
    syscalls.push(rule);
  }
  if (syscalls.length > 0) section.syscalls = syscalls;
  return section;
}

/** Compares "major.minor" of a kernel release with a profile's minKernel ("4.8"). */
export function kernelAtLeast(release: string, minimum: string): boolean {
  const parse = (v: string, what: string): [number, number] => {
    const m = /^(\d+)\.(\d+)/.exec(v);
    if (!m) throw new InvalidArgument(`parse kernel version \`${v}\`: expected major.minor (${what})`);
    return [Number(m[1]), Number(m[2])];
  };
  const [a, b] = parse(release, 'running kernel');
  const [c, d] = parse(minimum, 'seccomp minKernel');
  return a > c || (a === c && b >= d);
}
