import fs from 'node:fs';
import { check, lastError, libc } from './libc.js';

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SHUT_WR = 1;

/**
 * Connects a SOCK_SEQPACKET unix socket (conmon's attach socket), which Node's `net` cannot
 * open. The path is reached through /proc/self/fd/<dirfd>/<name>, which dodges the 108-byte
 * sun_path limit for long bundle paths. Returns the socket's fd: read it with
 * fs.createReadStream(null, { fd, highWaterMark ≥ 8193 }) (one packet per chunk), write
 * it with fs.writeSync; let the stream close it (destroy()), never close it twice.
 */
export function connectSeqpacket(path: string): number {
  const slash = path.lastIndexOf('/');
  const dirFd = fs.openSync(
    slash <= 0 ? '/' : path.slice(0, slash),
    fs.constants.O_RDONLY | fs.constants.O_DIRECTORY,
  );
  try {
    const target = `/proc/self/fd/${dirFd}/${path.slice(slash + 1)}`;
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(AF_UNIX, 0);
    const written = addr.write(target, 2, 'utf8');
    if (written >= 108) throw new Error(`connect \`${path}\`: socket path too long`);
    const fd = check(libc.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), 'socket', path);
    if (libc.connect(fd, addr, 2 + written + 1) !== 0) {
      const err = lastError('connect', path);
      libc.close(fd);
      throw err;
    }
    return fd;
  } finally {
    fs.closeSync(dirFd);
  }
}

/** Half-closes the write side: the peer reads EOF (conmon closes the container's stdin). */
export function shutdownWrite(fd: number): void {
  check(libc.shutdown(fd, SHUT_WR), 'shutdown');
}
