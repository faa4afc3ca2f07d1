/**
 * The receiving end of an OCI runtime's `--console-socket` (runc docs/terminals.md, which crun
 * follows): the runtime makes the pty, connects to a unix socket we listen on and passes the
 * master over SCM_RIGHTS; the process gets the other end as its stdio. Holding the master
 * ourselves (rather than letting the runtime copy between a pty and its own stdio) is what
 * lets a window size be set at any time and the output be read without a thread per reader.
 */
import net from 'node:net';
import tty from 'node:tty';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { receiveFd } from '../sys/socket.js';
import { setWindowSize } from '../sys/tty.js';

/** How long a connected runtime may take to send the master after connecting. */
const SEND_TIMEOUT_MS = 5000;

export interface Console {
  /** The pty master, both ways: the process's output out, its input in. */
  stream: Duplex;
  resize(rows: number, cols: number): void;
}

export interface ConsoleSocket {
  path: string;
  /** The master once the runtime sent it; rejects when closed before that. */
  console: Promise<Console>;
  /** Stops listening (the runtime exited, or the master arrived). */
  close(): void;
}

export async function listenConsole(file: string): Promise<ConsoleSocket> {
  // Paused on connect: Node must not read the message whose control part carries the fd.
  const server = net.createServer({ pauseOnConnect: true });
  let settle!: { resolve: (c: Console) => void; reject: (err: Error) => void };
  const received = new Promise<Console>((resolve, reject) => (settle = { resolve, reject }));
  // A runtime that exits early leaves this unawaited; its failure is reported by its status.
  received.catch(() => {});
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    server.close();
    settle.reject(new Error('console socket closed before the runtime sent a terminal'));
  };
  server.on('connection', (socket: net.Socket) => {
    void receive(socket).then(
      (fd) => {
        socket.destroy();
        if (closed) {
          // Too late to be used: do not leak the master.
          new tty.ReadStream(fd).destroy();
          return;
        }
        settle.resolve(masterConsole(fd));
        close();
      },
      (err: Error) => {
        socket.destroy();
        settle.reject(err);
        close();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { path: file, console: received, close };
}

/** The fd the runtime sends right after connecting; polled, as the socket is not read by Node. */
async function receive(socket: net.Socket): Promise<number> {
  // Node keeps the accepted socket's descriptor on its handle; nothing public exposes it.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) throw new Error('console socket: no descriptor for the connection');
  const deadline = Date.now() + SEND_TIMEOUT_MS;
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    const received = receiveFd(fd);
    if (received !== undefined) return received;
    if (Date.now() > deadline) throw new Error('console socket: the runtime sent no terminal');
    await sleep(delay);
  }
}

function masterConsole(fd: number): Console {
  // A tty.ReadStream is a net.Socket over libuv's tty handle: non-blocking reads and writes of
  // the master, no thread-pool thread held per reader as an fs stream would.
  const stream = new tty.ReadStream(fd);
  return {
    stream,
    resize(rows, cols) {
      if (stream.destroyed) return;
      try {
        setWindowSize(fd, rows, cols);
      } catch {
        // The process is gone and the master with it; nothing to resize.
      }
    },
  };
}
