/** Small HTTP helpers shared by the handlers: JSON replies, spec errors, bounded bodies. */
import type http from 'node:http';
import { RegistryError } from './errors.js';

export type Request = http.IncomingMessage;
export type Response = http.ServerResponse;

/** distribution-spec "Determining support": every response says which API it speaks. */
export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };

/** A header's value; a list is sent as one header line per item (OCI-Tag, one per tag). */
export type HeaderValue = string | number | string[];

export function send(
  res: Response,
  status: number,
  headers: Record<string, HeaderValue> = {},
  body?: Buffer | string,
): void {
  const head: Record<string, HeaderValue> = { ...API_VERSION_HEADER, ...headers };
  if (body !== undefined && head['Content-Length'] === undefined)
    head['Content-Length'] = Buffer.byteLength(body);
  if (body === undefined && head['Content-Length'] === undefined) head['Content-Length'] = 0;
  res.writeHead(status, head);
  if (body !== undefined && res.req.method !== 'HEAD') res.end(body);
  else res.end();
}

export function sendJson(
  res: Response,
  status: number,
  value: unknown,
  headers: Record<string, string | number> = {},
): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, `${JSON.stringify(value)}\n`);
}

/** distribution-spec "Error Codes": `{"errors":[{"code","message","detail"}]}`. */
export function sendError(res: Response, err: RegistryError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = { errors: [{ code: err.code, message: err.message, detail: err.detail }] };
  sendJson(res, err.status, body, err.headers);
}

/** Reads a whole (small) body; over `limit` bytes is 413 with `code`. */
export async function readBody(req: Request, limit: number, what: string): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const tooBig = () =>
    new RegistryError(413, 'MANIFEST_INVALID', `read ${what}: body is over the ${limit} byte limit`, {
      detail: { limit },
    });
  if (declared > limit) throw tooBig();
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) throw tooBig();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Drains what is left of a request body so the connection can be reused. */
export function drain(req: Request): void {
  if (!req.readableEnded) req.resume();
}

/** `n` and `last` of the listing endpoints (distribution-spec "Listing Tags"). */
export function pageOf(url: URL): { n: number | undefined; last: string | undefined } {
  const raw = url.searchParams.get('n');
  let n: number | undefined;
  if (raw !== null) {
    if (!/^\d+$/.test(raw))
      throw new RegistryError(400, 'UNSUPPORTED', `read query \`n=${raw}\`: must be a non-negative integer`);
    n = Number(raw);
  }
  return { n, last: url.searchParams.get('last') ?? undefined };
}

/**
 * One page of a sorted list and the Link header to the next (RFC 5988), as the spec's
 * tag listing and Docker's catalog do.
 */
export function paginate(
  all: string[],
  page: { n: number | undefined; last: string | undefined },
  base: string,
): { items: string[]; headers: Record<string, string> } {
  let items = page.last === undefined ? all : all.filter((x) => x > page.last!);
  const more = page.n !== undefined && items.length > page.n;
  if (page.n !== undefined) items = items.slice(0, page.n);
  const headers: Record<string, string> = {};
  if (more && items.length > 0) {
    const last = encodeURIComponent(items[items.length - 1]!);
    headers['Link'] = `<${base}?n=${page.n}&last=${last}>; rel="next"`;
  }
  return { items, headers };
}
