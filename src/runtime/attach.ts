/**
 * The attach socket conmon listens on (docs/runtime.md#attach-socket): packets from conmon carry one
 * byte of stream id (2 stdout, 3 stderr) and the output; packets to conmon are stdin bytes;
 * a half-close is stdin's EOF. Window sizes go to the `ctl` FIFO as "1 ROWS COLS".
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { connectSeqpacket, shutdownWrite } from '../sys/socket.js';

export interface AttachStreams {
  stdout: Writable;
  stderr: Writable;
  /** Forwarded to the container when it was created with -i. */
  stdin?: Readable;
}

export interface Attached {
  /** Resolves when conmon closes the socket: the container's output has all arrived. */
  done: Promise<void>;
  resize(rows: number, cols: number): void;
  close(): void;
}

export function attach(bundle: string, streams: AttachStreams): Attached {
  const fd = connectSeqpacket(path.join(bundle, 'attach'));
  // One packet per read needs a buffer larger than conmon's 8192-byte payload plus the id byte.
  // The stream owns the fd from here: destroy() closes it once any read in flight is done.
  // Closing it ourselves as well would let that later close hit a reused fd number.
  const socket = fs.createReadStream('', { fd, highWaterMark: 65536, autoClose: true });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    streams.stdin?.off('data', onInput);
    streams.stdin?.off('end', onInputEnd);
    socket.destroy();
  };
  const onInput = (chunk: Buffer) => {
    if (closed) return;
    // conmon takes at most 32768 bytes a packet; send bigger chunks in parts.
    for (let i = 0; i < chunk.length; i += 32768) {
      try {
        fs.writeSync(fd, chunk.subarray(i, i + 32768));
      } catch {
        return;
      }
    }
  };
  const onInputEnd = () => {
    if (!closed) shutdownWrite(fd);
  };
  streams.stdin?.on('data', onInput);
  streams.stdin?.on('end', onInputEnd);

  const done = new Promise<void>((resolve) => {
    socket.on('data', (packet: Buffer | string) => {
      const buf = packet as Buffer;
      if (buf.length < 1) return;
      const target = buf[0] === 3 ? streams.stderr : streams.stdout;
      target.write(buf.subarray(1));
    });
    socket.on('end', () => {
      close();
      resolve();
    });
    socket.on('error', () => {
      close();
      resolve();
    });
  });
  return {
    done,
    close,
    resize(rows, cols) {
      resizeConsole(bundle, rows, cols);
    },
  };
}

/** The window size of the tty conmon holds for the container in `bundle` (its `ctl` FIFO). */
export function resizeConsole(bundle: string, rows: number, cols: number): void {
  try {
    const ctl = fs.openSync(path.join(bundle, 'ctl'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    try {
      fs.writeSync(ctl, `1 ${rows} ${cols}\n`);
    } finally {
      fs.closeSync(ctl);
    }
  } catch {
    // The container is gone (or conmon with it); nothing to resize.
  }
}
