/**
 * Docker's progress streams (pull, push, build, load, import): one JSON object per line, sent
 * chunked as `application/json`, ending with the connection's last chunk. A failure after
 * the first line is one more line, `{"errorDetail":{"message":…},"error":…}`, which clients
 * stop at. A failure before any line is a real HTTP status with `{"message":…}`, as dockerd
 * answers: testcontainers takes a pull that answered 200 for done, whatever the stream says.
 *
 * Request bodies that are archives are read as a stream; a reader that stops early (a bad
 * archive) leaves the connection open and the rest of the body is read and dropped, so the
 * error still reaches the client.
 */
import type { IncomingMessage } from 'node:http';
import { httpError } from './errors.js';
import { sendError } from './respond.js';
import type { Context } from './router.js';

/** What is read and dropped of a body its reader stopped early on, before the connection is cut. */
const DRAIN_LIMIT = 64 << 20;

export class ProgressStream {
  private readonly aborter = new AbortController();

  constructor(private readonly ctx: Context) {
    const res = ctx.res!;
    // The client went away before the end: whatever is running for it stops where it can.
    res.once('close', () => {
      if (!res.writableFinished) this.aborter.abort(new Error('the client closed the connection'));
    });
  }

  /** Aborted when the client closes the connection before the stream ends. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /** Whether the 200 and a first line went out (after which errors go into the stream). */
  get started(): boolean {
    return this.ctx.res!.headersSent;
  }

  write(message: Record<string, unknown>): void {
    const res = this.ctx.res!;
    if (res.writableEnded || res.destroyed) return;
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${JSON.stringify(message)}\n`);
  }

  /** Ends the stream; with an error, as a last line, or as the HTTP answer when nothing went out yet. */
  end(err?: unknown): void {
    const res = this.ctx.res!;
    if (res.writableEnded || res.destroyed) return;
    if (err === undefined) {
      if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end();
      return;
    }
    if (!res.headersSent) {
      // A body its reader never got to (or left) is read and dropped, so the answer arrives.
      drain(this.ctx.req);
      sendError(this.ctx, err);
      return;
    }
    const { message } = httpError(err);
    this.write({ errorDetail: { message }, error: message });
    res.end();
  }
}

/**
 * The request body as chunks, read with listeners rather than `for await (… of req)`: a
 * reader that stops early (a bad archive) must not destroy the request, and with it the
 * socket the answer goes out on. Whatever it leaves is read and dropped by `drain`.
 */
export function requestBody(req: IncomingMessage): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const onData = (chunk: Buffer) => {
    queue.push(chunk);
    // One chunk at a time: the reader's pace is the client's.
    req.pause();
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onClose = () => {
    if (!req.complete) failure ??= new Error('the client closed the connection during the upload');
    wake?.();
  };
  const onError = (err: Error) => {
    failure ??= err;
    wake?.();
  };
  req.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onError);
  readers.set(req, () => {
    req.off('data', onData);
    queue.length = 0;
  });
  return (async function* () {
    try {
      for (;;) {
        const chunk = queue.shift();
        if (chunk !== undefined) {
          yield chunk;
          continue;
        }
        if (failure) throw failure;
        if (ended) return;
        const woken = new Promise<void>((resolve) => (wake = resolve));
        req.resume();
        await woken;
        wake = undefined;
      }
    } finally {
      drain(req);
    }
  })();
}

/** How to stop a request's body reader, so that `drain` can take the body over. */
const readers = new WeakMap<IncomingMessage, () => void>();
const draining = new WeakSet<IncomingMessage>();

/** Reads and drops the rest of a body nobody reads, up to DRAIN_LIMIT, past which the connection is cut. */
function drain(req: IncomingMessage): void {
  if (req.complete || req.destroyed || draining.has(req)) return;
  draining.add(req);
  readers.get(req)?.();
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DRAIN_LIMIT) req.socket.destroy();
  });
  req.resume();
}
