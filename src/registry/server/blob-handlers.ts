/**
 * Reading and deleting blobs (distribution-spec "Pulling blobs", "Deleting blobs"), with
 * single Range requests (RFC 9110 section 14) so a client can resume a download.
 */
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../../oci/digest.js';
import { RegistryError, blobUnknown } from './errors.js';
import { send, type Request, type Response } from './http.js';
import { checkDigest } from './names.js';
import type { RegistryStorage } from './storage.js';

/** 4 MiB reads: fewer syscalls and larger socket writes than the 64 KiB default. */
const READ_CHUNK = 4 << 20;

/** A `bytes=a-b`, `bytes=a-` or `bytes=-n` range within `size`; undefined when there is none. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const unsatisfiable = () =>
    new RegistryError(416, 'BLOB_UNKNOWN', `read range \`${header}\`: not satisfiable for ${size} bytes`, {
      headers: { 'Content-Range': `bytes */${size}` },
    });
  if (m === null || (m[1] === '' && m[2] === '')) throw unsatisfiable();
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable();
    start = Math.max(size - suffix, 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw unsatisfiable();
  return { start, end };
}

export async function getBlob(
  storage: RegistryStorage,
  req: Request,
  res: Response,
  name: string,
  raw: string,
): Promise<void> {
  const digest: Digest = checkDigest(raw);
  const size = storage.blobSize(name, digest);
  if (size === undefined) throw blobUnknown(digest, name);
  const range = parseRange(req.headers.range, size);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    'Cache-Control': 'max-age=31536000',
  };
  if (req.method === 'HEAD') {
    send(res, 200, { ...headers, 'Content-Length': size });
    return;
  }
  let stream: fs.ReadStream;
  try {
    stream = fs.createReadStream(storage.content.path(digest), {
      highWaterMark: READ_CHUNK,
      start: range?.start,
      end: range?.end,
    });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch {
    // gc removed it between the stat and the open.
    throw blobUnknown(digest, name);
  }
  if (range === undefined) {
    res.writeHead(200, {
      ...headers,
      'Content-Length': size,
      'Docker-Distribution-API-Version': 'registry/2.0',
    });
  } else {
    res.writeHead(206, {
      ...headers,
      'Content-Length': range.end - range.start + 1,
      'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
      'Docker-Distribution-API-Version': 'registry/2.0',
    });
  }
  await pipeline(stream, res);
}

/** Removes the blob from the repository; the bytes go when gc finds nothing else uses them. */
export function deleteBlob(storage: RegistryStorage, res: Response, name: string, raw: string): void {
  const digest = checkDigest(raw);
  if (storage.blobSize(name, digest) === undefined || !storage.unlinkBlob(name, digest))
    throw blobUnknown(digest, name);
  send(res, 202, { 'Docker-Content-Digest': digest });
}
