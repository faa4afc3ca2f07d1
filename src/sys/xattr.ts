import { check, lastError, libc } from './libc.js';

/** Sets an extended attribute on the path itself (never following a symlink). */
export function setXattr(path: string, name: string, value: Buffer): void {
  check(libc.lsetxattr(path, name, value, value.length, 0), 'lsetxattr', path);
}

/** Reads one attribute, or undefined when the path does not have it. */
export function getXattr(path: string, name: string): Buffer | undefined {
  let size = 256;
  for (;;) {
    const buf = Buffer.alloc(size);
    const n = Number(libc.lgetxattr(path, name, buf, size));
    if (n >= 0) return buf.subarray(0, n);
    const err = lastError('lgetxattr', path);
    if (err.code === 'ENODATA') return undefined;
    if (err.code !== 'ERANGE') throw err;
    size = Number(check(libc.lgetxattr(path, name, null, 0), 'lgetxattr', path));
  }
}

export function listXattrs(path: string): string[] {
  let size = 1024;
  for (;;) {
    const buf = Buffer.alloc(size);
    const n = Number(libc.llistxattr(path, buf, size));
    if (n >= 0) return n === 0 ? [] : buf.toString('utf8', 0, n - 1).split('\0');
    const err = lastError('llistxattr', path);
    if (err.code === 'ENOTSUP' || err.code === 'EOPNOTSUPP') return [];
    if (err.code !== 'ERANGE') throw err;
    size = Number(check(libc.llistxattr(path, null, 0), 'llistxattr', path)) + 1;
  }
}

/** All attributes of a path, values raw. */
export function readXattrs(path: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of listXattrs(path)) {
    const value = getXattr(path, name);
    if (value !== undefined) out.set(name, value);
  }
  return out;
}
