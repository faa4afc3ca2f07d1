/**
 * Fetching blobs (distribution-spec "Pulling blobs"): a blob streams in, its digest computed
 * as it passes and checked at the end. A connection that drops midway is picked up where it
 * stopped with a Range request ("Pulling blobs" allows Range on blob GET); the consumer sees
 * one unbroken stream. Redirects to other storage are followed without our credentials.
 */
import { createDigester, parseDigest, type Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { DataLoss } from '../../util/errors.js';
import type { Session } from './session.js';
import { discard, header, isTransientError, type Response } from './transport.js';

const ATTEMPTS = 5;

export interface BlobStreamOptions {
  signal?: AbortSignal;
  /** Called with the total bytes received so far. */
  onBytes?: (bytes: number) => void;
  /** Called with a reason each time the download resumes or restarts. */
  onRetry?: (reason: string) => void;
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** GET a blob, following a redirect (to a CDN or object store) without the registry's Authorization. */
async function getBlob(
  session: Session,
  repository: string,
  digest: Digest,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<Response> {
  let res = await session.request([pullScope(repository)], `/v2/${repository}/blobs/${digest}`, {
    headers,
    signal,
  });
  for (let hops = 0; res.status >= 300 && res.status < 400 && hops < 5; hops++) {
    const location = header(res, 'location');
    await discard(res);
    if (location === undefined) break;
    const url = new URL(location, res.url);
    res = await session.withRetries(() => session.transport.request(url, { headers, signal }));
  }
  return res;
}

/**
 * The blob's bytes, verified: the stream throws DataLoss at its end when size or digest is not
 * what `descriptor` says, so a consumer that has read everything knows the bytes are good.
 */
export async function* blobStream(
  session: Session,
  repository: string,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  options: BlobStreamOptions = {},
): AsyncGenerator<Buffer> {
  const { digest, size } = descriptor;
  const digester = createDigester(parseDigest(digest).algorithm);
  const what = `fetch blob \`${digest}\` from ${session.registry}/${repository}`;
  let failures = 0;
  for (;;) {
    const offset = digester.bytes;
    const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    let res: Response;
    try {
      res = await getBlob(session, repository, digest, headers, options.signal);
    } catch (err) {
      if (!isTransientError(err) || ++failures >= ATTEMPTS) throw session.connectionError(err);
      options.onRetry?.((err as Error).message);
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      if (res.status >= 500 && ++failures < ATTEMPTS) {
        await discard(res);
        continue;
      }
      throw await session.error(res, what);
    }
    // A server that ignores Range sends everything again: skip what we already have.
    let skip = offset > 0 && res.status === 200 ? offset : 0;
    try {
      for await (const raw of res.body) {
        let chunk = raw as Buffer;
        if (skip > 0) {
          const n = Math.min(skip, chunk.length);
          skip -= n;
          chunk = chunk.subarray(n);
          if (chunk.length === 0) continue;
        }
        digester.update(chunk);
        if (digester.bytes > size) {
          res.body.destroy();
          throw new DataLoss(`${what}: more than the ${size} bytes its descriptor says`);
        }
        options.onBytes?.(digester.bytes);
        yield chunk;
      }
    } catch (err) {
      if (err instanceof DataLoss || !isTransientError(err) || ++failures >= ATTEMPTS) throw err;
      options.onRetry?.(`connection lost after ${digester.bytes} bytes; resuming`);
      continue;
    }
    if (digester.bytes < size) {
      if (++failures >= ATTEMPTS) throw new DataLoss(`${what}: got ${digester.bytes} of ${size} bytes`);
      options.onRetry?.(`stream ended after ${digester.bytes} bytes; resuming`);
      continue;
    }
    break;
  }
  if (digester.bytes !== size) throw new DataLoss(`${what}: got ${digester.bytes} bytes, expected ${size}`);
  const actual = digester.digest();
  if (actual !== digest) throw new DataLoss(`${what}: digest mismatch: content has digest ${actual}`);
}

/** A small blob (a config) read whole and checked. */
export async function fetchSmallBlob(
  session: Session,
  repository: string,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  signal?: AbortSignal,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of blobStream(session, repository, descriptor, { signal })) chunks.push(chunk);
  return Buffer.concat(chunks);
}
