/**
 * Linux capabilities for the container's process: Docker's and Podman's default set, and
 * `--cap-add`/`--cap-drop`/`--privileged` resolved the way moby `oci/caps.TweakCapabilities`
 * does (names case-insensitive, with or without `CAP_`, `ALL` on either side).
 */
import fs from 'node:fs';

import { FailedPrecondition, InvalidArgument } from '../util/errors.js';

/** Every capability the kernel headers define, by number (linux/capability.h). */
const KNOWN = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/** Podman 4.3's compiled-in defaults (= Docker's): CapEff 00000000a80425fb (docs/runtime.md#capabilities). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_AUDIT_WRITE',
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_MKNOD',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];

/**
 * The capabilities skiff itself may hand on: its own bounding set. That is what "ALL" and
 * --privileged mean (as Podman's `capabilities.BoundingSet()`): a host may withhold some even
 * from root (this VM has no CAP_SYS_RESOURCE), and asking the runtime for one the caller
 * lacks fails the whole container with `capset: Operation not permitted`.
 */
export function allCapabilities(status = readStatus()): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) return [...KNOWN];
  const mask = BigInt(`0x${m[1]}`);
  return KNOWN.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

function readStatus(): string {
  try {
    return fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    // No /proc: assume the headers' full list and let the runtime judge.
    return '';
  }
}

/** "net_admin", "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; "all" → "ALL". */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!(KNOWN as readonly string[]).includes(full)) {
    throw new InvalidArgument(`invalid capability \`${name}\`: unknown capability`);
  }
  return full;
}

export interface CapabilityInput {
  capAdd?: readonly string[];
  capDrop?: readonly string[];
  privileged?: boolean;
}

/**
 * The resulting set, sorted by name. Precedence as Docker: privileged → all; add ALL → all
 * minus drops; drop ALL → only adds; else defaults minus drops plus adds. `all` is what skiff
 * holds: a default it lacks is left out quietly, an explicit add it lacks is an error.
 */
export function resolveCapabilities(
  input: CapabilityInput,
  all: readonly string[] = allCapabilities(),
): string[] {
  const adds = (input.capAdd ?? []).map(normalizeCapability).filter((c) => c !== 'ALL');
  const drops = (input.capDrop ?? []).map(normalizeCapability);
  const addAll = (input.capAdd ?? []).some((c) => normalizeCapability(c) === 'ALL');
  let caps: string[];
  if (input.privileged || addAll) caps = all.filter((c) => input.privileged || !drops.includes(c));
  else {
    const missing = adds.find((c) => !all.includes(c));
    if (missing) {
      throw new FailedPrecondition(
        `add capability \`${missing}\`: skiff does not hold it itself (not in its bounding set), so no container can`,
        { code: 'CAPABILITY_UNAVAILABLE' },
      );
    }
    const base = drops.includes('ALL')
      ? []
      : DEFAULT_CAPABILITIES.filter((c) => all.includes(c) && !drops.includes(c));
    caps = [...base, ...adds];
  }
  return [...new Set(caps)].sort();
}

/** The CapEff mask /proc/<pid>/status shows for a set: 16 hex digits. */
export function capabilityMask(caps: readonly string[]): string {
  let mask = 0n;
  for (const c of caps) {
    const bit = (KNOWN as readonly string[]).indexOf(c);
    if (bit >= 0) mask |= 1n << BigInt(bit);
  }
  return mask.toString(16).padStart(16, '0');
}
