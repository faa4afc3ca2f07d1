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
import { InvalidArgument } from '../engine.js';
import { BadJson, BodyTooLarge } from './errors.js';
import { MAX_BODY, type Context } from './router.js';

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

/**
 * Output for `target`: framed as stream `id`, or raw with a tty. It keeps to the target's pace
 * (a write waits for its drain) and never waits for a target that is gone: its writes are
 * dropped, so what feeds it is not held up by a client that left. Ending it leaves the target
 * open.
 */
export function outputStream(target: Duplex, id: StreamId, tty: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (target.destroyed || !target.writable) {
        callback();
        return;
      }
      if (target.write(tty ? chunk : frame(id, chunk))) {
        callback();
        return;
      }
      const done = () => {
        target.off('drain', done);
        target.off('close', done);
        callback();
      };
      target.on('drain', done);
      target.on('close', done);
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

/**
 * The JSON body of an `Upgrade: tcp` request, which Node hands over before reading its body:
 * exactly Content-Length bytes, from what was read past the headers and then the socket.
 * Whatever follows (exec start's stdin, which the CLI may send at once) is put back on the
 * socket, and `ctx.upgrade.head` is emptied so that `hijack` does not replay it.
 */
export async function upgradeBody(ctx: Context, limit = MAX_BODY): Promise<unknown> {
  const upgrade = ctx.upgrade!;
  const length = Number(ctx.req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(length) || length < 0)
    throw new InvalidArgument(`invalid Content-Length \`${ctx.req.headers['content-length']}\``);
  if (length > limit) throw new BodyTooLarge(limit);
  let bytes = upgrade.head;
  upgrade.head = Buffer.alloc(0);
  if (bytes.length < length) bytes = await readAtLeast(upgrade.socket, bytes, length);
  if (bytes.length > length) upgrade.socket.unshift(bytes.subarray(length));
  const text = bytes.subarray(0, length).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BadJson(err);
  }
}

function readAtLeast(socket: Duplex, first: Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks = [first];
    let size = first.length;
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size < length) return;
      cleanup();
      // Paused, so that nothing past the body is read before its reader is there.
      socket.pause();
      resolve(Buffer.concat(chunks));
    };
    const onEnd = () => {
      cleanup();
      reject(new InvalidArgument(`request body ended after ${size} of ${length} bytes`));
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
  });
}
