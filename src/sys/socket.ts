import fs from 'node:fs';
import { addressOf, check, lastError, libc } from './libc.js';

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

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x40000000;

/**
 * Receives one file descriptor passed over the connected unix socket `fd` (SCM_RIGHTS, as
 * an OCI runtime's `--console-socket` sends the pty master). Does not block: undefined when
 * nothing has arrived yet; throws when the peer sent something else or hung up without one.
 * The descriptor comes close-on-exec, so no child of this process inherits it.
 */
export function receiveFd(fd: number): number | undefined {
  // struct msghdr (x86-64 and aarch64 layout): name, namelen, iov, iovlen, control, controllen, flags.
  const data = Buffer.alloc(256);
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(addressOf(data), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  // CMSG_SPACE(sizeof(int)): a 16-byte cmsghdr (len, level, type) and the int, padded to 8.
  const control = Buffer.alloc(24);
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(addressOf(iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(addressOf(control), 32);
  msg.writeBigUInt64LE(BigInt(control.length), 40);
  const n = Number(libc.recvmsg(fd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
  if (n < 0) {
    const err = lastError('recvmsg');
    if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK') return undefined;
    throw err;
  }
  const controlLength = Number(msg.readBigUInt64LE(40));
  if (controlLength >= 20 && control.readInt32LE(8) === SOL_SOCKET && control.readInt32LE(12) === SCM_RIGHTS)
    return control.readInt32LE(16);
  throw new Error(
    n === 0
      ? 'recvmsg: the peer closed without sending a descriptor'
      : 'recvmsg: no descriptor in the message',
  );
}
