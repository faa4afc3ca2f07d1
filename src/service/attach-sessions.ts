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

export class AttachSessions {
  private readonly pending = new Map<string, Set<AttachClient>>();

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
    let exited: Promise<number>;
    try {
      ({ exited } = await engine.startContainerAttached(id, {
        stdout: fanOut(1),
        stderr: fanOut(2),
        stdin,
        tty,
      }));
    } catch (err) {
      closeAll();
      throw err;
    }
    // The exit is answered by `wait`; the attached clients only need their stream to end.
    exited.then(closeAll, closeAll);
  }

  /** Ends every held client (the service is stopping). */
  closeAll(): void {
    for (const set of this.pending.values()) for (const c of set) c.socket.destroy();
    this.pending.clear();
  }
}
