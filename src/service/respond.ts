/** Plain answers: JSON bodies, empty statuses and errors, on a response or a raw socket. */
import { STATUS_CODES } from 'node:http';
import type { Context } from './router.js';
import { httpError } from './errors.js';

export function sendJson(ctx: Context, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  if (ctx.res) {
    ctx.res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    ctx.res.end(text);
  } else {
    rawReply(ctx, status, text);
  }
}

/** 204, 304, 201 with no body. */
export function sendEmpty(ctx: Context, status: number): void {
  if (ctx.res) {
    ctx.res.writeHead(status);
    ctx.res.end();
  } else {
    rawReply(ctx, status, '');
  }
}

/** An error as Docker answers it: the mapped status and `{"message": …}` (none on a 304). */
export function sendError(ctx: Context, err: unknown): void {
  const { status, message } = httpError(err);
  if (ctx.res?.headersSent) {
    // A stream was already under way: all that is left is to end it.
    ctx.res.destroy();
    return;
  }
  if (status === 304) sendEmpty(ctx, status);
  else sendJson(ctx, status, { message });
}

/** An answer to an upgrade request that was not upgraded; the connection closes after it. */
function rawReply(ctx: Context, status: number, text: string): void {
  const socket = ctx.upgrade!.socket;
  const type = text === '' ? '' : 'Content-Type: application/json\r\n';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${type}Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}
