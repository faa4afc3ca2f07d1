import { check, libc } from './libc.js';

/** Flags from <sys/mount.h> that skiff uses. */
export const MountFlags = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  REMOUNT: 0x20,
  BIND: 0x1000,
  REC: 0x4000,
  PRIVATE: 1 << 18,
} as const;

export const UmountFlags = { FORCE: 1, DETACH: 2, NOFOLLOW: 8 } as const;

export interface MountSpec {
  source: string;
  target: string;
  fstype: string;
  flags?: number;
  data?: string;
}

export function mount(spec: MountSpec): void {
  check(
    libc.mount(spec.source, spec.target, spec.fstype, spec.flags ?? 0, spec.data ?? null),
    'mount',
    spec.target,
  );
}

export function umount(target: string, flags = 0): void {
  check(libc.umount2(target, flags), 'umount', target);
}
