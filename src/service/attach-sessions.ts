/**
 * Attach before start. The CLI opens `POST /containers/{id}/attach` (hijacked) and only then
 * `POST /containers/{id}/start`, on another connection. The attached sockets wait here until
 * the start, which joins them to the container's streams before its process runs
 * (Engine.startContainerAttached), so no output is missed; they close once it has exited.
 */
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import type { Engine } from '../engine.js';
import { frame } from './streams.js';

export interface AttachClient {
  socket: Duplex;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** How long an attached client may take to read the end of the output. */
const DRAIN_MS = 5_000;

/** Ends `socket` and resolves once what was written has been handed to the kernel (or it closed). */
function ended(socket: Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (socket.writableFinished || socket.destroyed) return resolve();
    socket.once('finish', () => resolve());
    socket.once('close', () => resolve());
    socket.end();
  });
}

export class AttachSessions {
  private readonly pending = new Map<string, Set<AttachClient>>();
  /** Started containers whose attached clients have not yet been sent all the output. */
  private readonly sending = new Map<string, Promise<void>>();

  /** Resolves once the clients attached to container `id` have all its output (now, if none). */
  outputSent(id: string): Promise<void> {
    return this.sending.get(id) ?? Promise.resolve();
  }

  /** Holds `client` until container `id` starts; a client that hangs up first is dropped. */
  add(id: string, client: AttachClient): void {
    let set = this.pending.get(id);
    if (!set) this.pending.set(id, (set = new Set()));
    set.add(client);
    client.socket.on('close', () => {
      set.delete(client);
      if (set.size === 0 && this.pending.get(id) === set) this.pending.delete(id);
    });
  }

  /**
   * Starts container `id`: joined to the clients that attached to it, or detached when none
   * did. Resolves once it runs.
   */
  async start(engine: Engine, id: string, tty: boolean): Promise<void> {
    const clients = [...(this.pending.get(id) ?? [])];
    this.pending.delete(id);
    if (clients.length === 0) {
      await engine.startContainer(id);
      return;
    }
    const fanOut = (stream: 1 | 2) =>
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          for (const c of clients) {
            if ((stream === 1 ? c.stdout : c.stderr) && c.socket.writable)
              c.socket.write(tty ? chunk : frame(stream, chunk));
          }
          callback();
        },
      });
    const stdin = clients.find((c) => c.stdin)?.socket;
    const closeAll = () => {
      for (const c of clients) c.socket.end();
    };
    // Each client's stream is ended and sent before the exit is recorded (bounded, so a
    // client that stops reading cannot hold the exit back).
    const drain = () =>
      Promise.race([
        Promise.all(clients.map((c) => ended(c.socket))),
        new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref()),
      ]).then(() => undefined);
    let exited: Promise<number>;
    try {
      ({ exited } = await engine.startContainerAttached(id, {
        stdout: fanOut(1),
        stderr: fanOut(2),
        stdin,
        tty,
        drain,
      }));
    } catch (err) {
      closeAll();
      throw err;
    }
    // The exit is answered by `wait`; the attached clients only need their stream to end.
    const sent = exited.then(closeAll, closeAll).then(drain);
    this.sending.set(id, sent);
    void sent.finally(() => {
      if (this.sending.get(id) === sent) this.sending.delete(id);
    });
  }

  /** Ends every held client (the service is stopping). */
  closeAll(): void {
    for (const set of this.pending.values()) for (const c of set) c.socket.destroy();
    this.pending.clear();
  }
}
