/**
 * The libc functions Node lacks, loaded once through koffi. This file and its siblings in
 * src/sys/ are the only place in skiff that makes raw system calls.
 */
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';
import os from 'node:os';

type Koffi = typeof KoffiModule;

/**
 * koffi's own entry point costs ~20 ms at every start (it loads `https` and probes the
 * platform); skiff only needs the native module, which loads in ~2 ms. The entry point
 * remains the fallback for a platform whose prebuilt module sits elsewhere.
 */
function loadKoffi(): Koffi {
  const require = createRequire(import.meta.url);
  try {
    return require(`koffi/build/koffi/${process.platform}_${process.arch}/koffi.node`) as Koffi;
  } catch {
    return require('koffi') as Koffi;
  }
}

const koffi = loadKoffi();
const lib = koffi.load('libc.so.6');

export const libc = {
  mount: lib.func(
    'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
  ),
  umount2: lib.func('int umount2(const char *target, int flags)'),
  flock: lib.func('int flock(int fd, int operation)'),
  syncfs: lib.func('int syncfs(int fd)'),
  socket: lib.func('int socket(int domain, int type, int protocol)'),
  connect: lib.func('int connect(int fd, const void *addr, uint32_t len)'),
  shutdown: lib.func('int shutdown(int fd, int how)'),
  recvmsg: lib.func('intptr_t recvmsg(int fd, void *msg, int flags)'),
  ioctl: lib.func('int ioctl(int fd, unsigned long request, ...)'),
  close: lib.func('int close(int fd)'),
  mknod: lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
  lsetxattr: lib.func(
    'int lsetxattr(const char *path, const char *name, const void *value, uintptr_t size, int flags)',
  ),
  lgetxattr: lib.func(
    'intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, uintptr_t size)',
  ),
  llistxattr: lib.func('intptr_t llistxattr(const char *path, _Out_ void *list, uintptr_t size)'),
  lremovexattr: lib.func('int lremovexattr(const char *path, const char *name)'),
};

/**
 * The address of a buffer's memory, for the pointers inside a struct built by hand (msghdr's
 * iovec and control buffer). The caller keeps the buffer referenced for as long as the call
 * that uses the address runs; Node never moves a Buffer's memory.
 */
export function addressOf(buffer: Buffer): bigint {
  return koffi.address(buffer);
}

/** An errno turned into an Error shaped like Node's own system errors (code, errno, syscall, path). */
export class SyscallError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string | undefined;

  constructor(syscall: string, errno: number, path?: string) {
    const code = errnoName(errno);
    super(`${syscall}${path === undefined ? '' : ` \`${path}\``}: ${code} (${describeErrno(code)})`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}

const names = new Map<number, string>(
  Object.entries(os.constants.errno).map(([name, value]) => [value, name] as [number, string]),
);

function errnoName(errno: number): string {
  return names.get(errno) ?? `E${errno}`;
}

const descriptions: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EBUSY: 'device or resource busy',
  EEXIST: 'file exists',
  EINVAL: 'invalid argument',
  ENODATA: 'no such attribute',
  ENOTSUP: 'operation not supported',
  EOPNOTSUPP: 'operation not supported',
  EWOULDBLOCK: 'resource temporarily unavailable',
  EAGAIN: 'resource temporarily unavailable',
  ERANGE: 'result too large',
  ENOSPC: 'no space left on device',
};

function describeErrno(code: string): string {
  return descriptions[code] ?? 'system error';
}

/** The error of the libc call that just failed; read errno before anything else runs. */
export function lastError(syscall: string, path?: string): SyscallError {
  return new SyscallError(syscall, koffi.errno(), path);
}

/** Throws SyscallError when a libc call returned -1. */
export function check(result: number | bigint, syscall: string, path?: string): number {
  const n = Number(result);
  if (n < 0) throw lastError(syscall, path);
  return n;
}
