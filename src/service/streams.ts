/**
 * Docker's output streams. Without a tty, stdout and stderr share one connection in frames:
 * 8 bytes of header (stream 1 stdout or 2 stderr, three zero bytes, the payload's length as a
 * big-endian uint32) and the payload. With a tty there is one stream, sent raw.
 *
 * Attach takes the connection over ("hijack"): with `Upgrade: tcp` the answer is `101
 * UPGRADED` and the socket is raw both ways (stdin comes in, a half-close is its EOF);
 * without it (dockerode's `run`) a `200 OK` with no length, and the stream ends with the
 * connection.
 */
import { Writable, type Duplex } from 'node:stream';
import type { Context } from './router.js';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

export type StreamId = 1 | 2;

/** A payload framed for stream `id`. */
export function frame(id: StreamId, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = id;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Output for `target`: framed as stream `id`, or raw with a tty. */
export function outputStream(
  target: { write(chunk: Buffer): unknown },
  id: StreamId,
  tty: boolean,
): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      target.write(tty ? chunk : frame(id, chunk));
      callback();
    },
  });
}

/**
 * Takes the connection of `ctx` over and returns its socket, raw both ways. Upgrade requests
 * get the 101; others a 200 whose body is whatever is written until the socket closes.
 */
export function hijack(ctx: Context, tty: boolean): Duplex {
  const type = tty ? RAW_STREAM : MULTIPLEXED_STREAM;
  if (ctx.upgrade) {
    const socket = ctx.upgrade.socket;
    socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
    if (ctx.upgrade.head.length > 0) socket.unshift(ctx.upgrade.head);
    return socket;
  }
  // The http server must not write its own answer (or keep the connection) after ours.
  const socket = ctx.req.socket;
  ctx.res!.detachSocket(socket);
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${RAW_STREAM}\r\nConnection: close\r\n\r\n`);
  return socket;
}
