/** Terminal calls Node has only for its own stdio: the window size of any pty by its fd. */
import { check, libc } from './libc.js';

/** TIOCSWINSZ from <asm-generic/ioctls.h> (x86-64, aarch64). */
const TIOCSWINSZ = 0x5414;

/** Sets the window size of the terminal `fd` (a pty master); its foreground process gets SIGWINCH. */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  // struct winsize: ws_row, ws_col, ws_xpixel, ws_ypixel, each an unsigned short.
  const size = Buffer.alloc(8);
  size.writeUInt16LE(Math.max(0, Math.min(rows, 0xffff)), 0);
  size.writeUInt16LE(Math.max(0, Math.min(cols, 0xffff)), 2);
  check(libc.ioctl(fd, TIOCSWINSZ, 'void *', size), 'ioctl TIOCSWINSZ');
}
