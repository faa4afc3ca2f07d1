/**
 * The OCI runtime config.json for a container (runtime-spec v1.0.2 config.md and
 * config-linux.md), with Podman 4.3's defaults (docs/runtime.md#podman-defaults, checked against
 * Podman's own output by spec.test.ts): 14 capabilities, masked and read-only /proc and /sys paths, the
 * containers-common seccomp profile, pids limit 2048, nofile/nproc rlimits clamped to what the
 * caller may grant. Process arguments, environment, working directory and user follow
 * Docker's rules. Pure apart from reading the rootfs's /etc/passwd and /etc/group, creating a
 * missing working directory in it (as Docker and Podman do), and reading host facts (rlimits,
 * capabilities, swap accounting) that a test may pass in.
 */
import os from 'node:os';
import path from 'node:path';

import type { ContainerConfig } from '../oci/config.js';
import { InvalidArgument } from '../util/errors.js';
import { allCapabilities, normalizeCapability, resolveCapabilities } from './capabilities.js';
import { mkdirInRoot } from './in-root.js';
import { linuxResources, type LinuxResources } from './resources.js';
import { specRlimits, type Rlimit, type SpecRlimit } from './rlimits.js';
import { defaultSeccomp, type SeccompSection } from './seccomp.js';
import { resolveUser } from './user.js';

export { parseCpus, parseMemory } from './resources.js';
export { parseUlimit } from './rlimits.js';
export { resolveUser } from './user.js';

export interface SpecInput {
  /** 64-hex container id. */
  id: string;
  /** Absolute path of the mounted overlay root. */
  rootfs: string;
  /** The image's config.config (may be {}). */
  image: ContainerConfig;
  /** Arguments after the image name; replace Cmd. Empty means none given. */
  command?: string[];
  /** --entrypoint: replaces Entrypoint ([] clears it) and resets Cmd unless a command is given. */
  entrypoint?: string[];
  /** -e K=V, or K alone to take it from skiff's own environment; --env-file lines already read. */
  env?: string[];
  workdir?: string;
  /** "name", "uid", "uid:gid", "name:group"; default the image's USER. */
  user?: string;
  tty?: boolean;
  /** Whether stdin stays open; conmon's business (-i), not config.json's. */
  stdin?: boolean;
  hostname: string;
  readOnly?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  /** Bytes. */
  memory?: number;
  /** Bytes of memory plus swap; -1 unlimited. */
  memorySwap?: number;
  /** Cores, e.g. 0.5. */
  cpus?: number;
  cpuShares?: number;
  /** Default 2048; ≤ 0 means no limit. */
  pidsLimit?: number;
  ulimits?: Rlimit[];
  mounts?: { source: string; destination: string; type: 'bind' | 'tmpfs'; options: string[] }[];
  network: { kind: 'host' } | { kind: 'path'; path: string } | { kind: 'new' };
  /** Host files bind-mounted read-write over /etc/hosts, /etc/resolv.conf, /etc/hostname. */
  files?: { hosts?: string; resolvConf?: string; hostname?: string };
  /** e.g. "/skiff/<id>". */
  cgroupsPath: string;
  /** SIGTERM, TERM, 15, SIGRTMIN+3 …; default the image's STOPSIGNAL, then SIGTERM. */
  stopSignal?: string;
  annotations?: Record<string, string>;
  seccomp?: 'default' | 'unconfined';
}

/** Host facts buildSpec reads unless given; tests pass fakes. */
export interface SpecHost {
  rlimits?: Map<string, { soft: number; hard: number }>;
  capabilities?: string[];
  swapSupported?: boolean;
  /** Process environment for `-e NAME` without a value. */
  environ?: NodeJS.ProcessEnv;
  seccomp?: (caps: string[]) => SeccompSection;
}

export interface Mount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal?: boolean;
    user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Partial<
      Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>
    >;
    rlimits: SpecRlimit[];
  };
  root: { path: string; readonly?: boolean };
  hostname: string;
  mounts: Mount[];
  annotations: Record<string, string>;
  linux: {
    resources: LinuxResources;
    cgroupsPath: string;
    namespaces: { type: string; path?: string }[];
    seccomp?: SeccompSection;
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Hidden from the container: bound to /dev/null (files) or an empty read-only tmpfs (dirs). */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/fs/selinux',
  '/sys/dev/block',
];

export const READONLY_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/** Podman's `read_only_tmpfs`: with --read-only these stay writable scratch space. */
const READ_ONLY_SCRATCH = ['/run', '/tmp', '/var/tmp'];

export function buildSpec(input: SpecInput, host: SpecHost = {}): OciSpec {
  if (!path.isAbsolute(input.rootfs))
    throw new InvalidArgument(`build spec \`${input.id}\`: rootfs must be absolute`);
  const image = input.image ?? {};
  const args = processArgs(image, input);
  const user = resolveUser(input.rootfs, input.user ?? image.User);
  const cwd = workingDir(image, input);
  if (cwd !== '/') mkdirInRoot(input.rootfs, cwd, user);

  const all = host.capabilities ?? allCapabilities();
  const bounding = resolveCapabilities(input, all);
  const privileged = input.privileged === true;

  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: input.tty === true,
      user: {
        uid: user.uid,
        gid: user.gid,
        umask: 0o022,
        ...(user.additionalGids.length > 0 ? { additionalGids: user.additionalGids } : {}),
      },
      args,
      env: environment(image, input, user.home, host.environ ?? process.env),
      cwd,
      capabilities: processCapabilities(bounding, user.uid, input, all),
      rlimits: specRlimits(input.ulimits ?? [], host.rlimits),
    },
    root: { path: input.rootfs, ...(input.readOnly ? { readonly: true } : {}) },
    hostname: input.hostname,
    mounts: mounts(input, privileged),
    annotations: {
      'io.container.manager': 'skiff',
      'org.opencontainers.image.stopSignal': String(
        parseSignal(input.stopSignal ?? image.StopSignal ?? 'SIGTERM'),
      ),
      ...input.annotations,
    },
    linux: {
      resources: linuxResources(
        input,
        host.swapSupported === undefined ? {} : { swapSupported: host.swapSupported },
      ),
      cgroupsPath: input.cgroupsPath,
      namespaces: namespaces(input.network),
    },
  };
  if (!privileged && input.seccomp !== 'unconfined') {
    spec.linux.seccomp = (host.seccomp ?? defaultSeccomp)(bounding);
  }
  if (!privileged) {
    spec.linux.maskedPaths = [...MASKED_PATHS];
    spec.linux.readonlyPaths = [...READONLY_PATHS];
  }
  return spec;
}

/** Docker: ENTRYPOINT + CMD, where a given command replaces CMD and --entrypoint resets it. */
export function processArgs(
  image: ContainerConfig,
  input: Pick<SpecInput, 'command' | 'entrypoint' | 'id'>,
): string[] {
  const entrypoint = input.entrypoint ?? image.Entrypoint ?? [];
  let cmd: string[];
  if (input.command !== undefined && input.command.length > 0) cmd = input.command;
  else if (input.entrypoint !== undefined) cmd = [];
  else cmd = image.Cmd ?? [];
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new InvalidArgument(`create container \`${input.id.slice(0, 12)}\`: no command specified`, {
      code: 'NO_COMMAND',
    });
  }
  return args;
}

/**
 * Later wins: defaults (PATH, HOSTNAME, TERM with a tty) < the image's Env < -e; HOME from
 * the user's passwd entry unless set. Order is first appearance, as Docker keeps it.
 */
export function environment(
  image: ContainerConfig,
  input: Pick<SpecInput, 'env' | 'hostname' | 'tty'>,
  home: string,
  environ: NodeJS.ProcessEnv,
): string[] {
  const env = new Map<string, string>([
    ['PATH', DEFAULT_PATH],
    ['HOSTNAME', input.hostname],
  ]);
  if (input.tty) env.set('TERM', 'xterm');
  for (const entry of image.Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const entry of input.env ?? []) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === '' || key.includes('\0'))
      throw new InvalidArgument(`invalid environment variable \`${entry}\`: empty name`);
    if (eq >= 0) env.set(key, entry.slice(eq + 1));
    else if (environ[key] !== undefined) env.set(key, environ[key]!);
  }
  if (!env.has('HOME')) env.set('HOME', home);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

function workingDir(image: ContainerConfig, input: SpecInput): string {
  if (input.workdir !== undefined && input.workdir !== '') {
    if (!path.posix.isAbsolute(input.workdir)) {
      throw new InvalidArgument(`invalid working directory \`${input.workdir}\`: must be an absolute path`);
    }
    return path.posix.normalize(input.workdir);
  }
  // Docker's builder stores WorkingDir absolute; an odd image's relative one is taken from /.
  return image.WorkingDir ? path.posix.resolve('/', image.WorkingDir) : '/';
}

/**
 * Root gets the whole set in bounding, effective and permitted. Another user gets only what
 * was added explicitly, through the ambient set (Podman 4.3, pkg/specgen/generate
 * security.go): without it the kernel would clear them at execve anyway.
 */
function processCapabilities(
  bounding: string[],
  uid: number,
  input: Pick<SpecInput, 'capAdd' | 'capDrop' | 'privileged'>,
  all: readonly string[],
): OciSpec['process']['capabilities'] {
  if (uid === 0) return { bounding, effective: bounding, permitted: bounding };
  const added = (input.capAdd ?? []).map(normalizeCapability);
  const granted = added.includes('ALL') ? [...all] : added;
  const userCaps = [...new Set(granted.filter((c) => bounding.includes(c)))].sort();
  return { bounding, effective: userCaps, permitted: userCaps, inheritable: userCaps, ambient: userCaps };
}

function namespaces(network: SpecInput['network']): OciSpec['linux']['namespaces'] {
  const out: OciSpec['linux']['namespaces'] = [{ type: 'pid' }];
  if (network.kind === 'path') out.push({ type: 'network', path: network.path });
  else if (network.kind === 'new') out.push({ type: 'network' });
  out.push({ type: 'ipc' }, { type: 'uts' }, { type: 'mount' });
  return out;
}

function mounts(input: SpecInput, privileged: boolean): Mount[] {
  const ro = privileged ? [] : ['ro'];
  const defaults: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'noexec', 'strictatime', 'mode=755', 'size=65536k'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...ro] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', ...ro],
    },
  ];
  const files: [string, string | undefined][] = [
    ['/etc/hostname', input.files?.hostname],
    ['/etc/hosts', input.files?.hosts],
    ['/etc/resolv.conf', input.files?.resolvConf],
  ];
  for (const [destination, source] of files) {
    if (source !== undefined)
      defaults.push({ destination, type: 'bind', source, options: ['bind', 'rprivate'] });
  }
  if (input.readOnly) {
    for (const destination of READ_ONLY_SCRATCH) {
      defaults.push({
        destination,
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['rw', 'rprivate', 'nosuid', 'nodev'],
      });
    }
  }

  const user: Mount[] = (input.mounts ?? []).map((m) => {
    if (!path.posix.isAbsolute(m.destination)) {
      throw new InvalidArgument(`invalid mount \`${m.destination}\`: destination must be an absolute path`);
    }
    const destination = path.posix.resolve('/', m.destination);
    const options = [...m.options];
    if (m.type === 'bind' && !options.includes('bind') && !options.includes('rbind'))
      options.unshift('rbind');
    return { destination, type: m.type, source: m.source, options };
  });
  // A user's mount replaces a default at the same place (e.g. -v /host/shm:/dev/shm).
  const taken = new Set(user.map((m) => m.destination));
  return [...defaults.filter((m) => !taken.has(m.destination)), ...user];
}

/** Signal name or number → number: "SIGTERM", "term", "15", "SIGRTMIN+3" (Docker's names). */
export function parseSignal(s: string): number {
  const text = s.trim().toUpperCase();
  const bad = () => new InvalidArgument(`invalid stop signal \`${s}\`: not a signal name or number`);
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 64) throw bad();
    return n;
  }
  const name = text.startsWith('SIG') ? text.slice(3) : text;
  // glibc keeps the first two real-time signals for itself: SIGRTMIN is 34 to a program.
  const rt = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const base = rt[1] === 'MIN' ? 34 : 64;
    const n = base + (rt[2] === '-' ? -1 : 1) * Number(rt[3] ?? 0);
    if (n < 34 || n > 64) throw bad();
    return n;
  }
  const n = (os.constants.signals as Record<string, number | undefined>)[`SIG${name}`];
  if (n === undefined) throw bad();
  return n;
}
