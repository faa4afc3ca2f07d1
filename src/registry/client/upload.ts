/**
 * Sending one blob (distribution-spec "Pushing blobs"): skipped when the repository has it
 * (HEAD), mounted from another repository of the same registry when one is known to hold it
 * ("Mounting a blob from another repository"), else uploaded: a blob up to CHUNK bytes in one
 * POST + PUT ("monolithic"), a larger one in PATCH chunks with Content-Range ("Pushing a blob in
 * chunks") and a closing PUT. An upload that fails midway asks the session how much arrived
 * (GET on the upload URL, its Range header) and continues from there.
 */
import type { Descriptor } from '../../oci/descriptor.js';
import { DataLoss } from '../../util/errors.js';
import type { Session } from './session.js';
import { discard, header, isTransientError, type Response } from './transport.js';

/** Chunks of 32 MiB: few round trips, and little to resend after a failure. */
export const CHUNK = 32 << 20;
const RECOVERIES = 5;

export type UploadOutcome =
  | { how: 'exists' }
  | { how: 'mounted'; from: string }
  | { how: 'uploaded'; bytes: number };

export interface UploadOptions {
  /** Repositories of this registry believed to hold the blob (mount sources). */
  mountFrom?: string[];
  /** Bytes [start, end) of the blob. */
  read: (start: number, end: number) => AsyncIterable<Buffer>;
  /** Called with the bytes of the blob the registry has acknowledged or is being sent. */
  onBytes?: (bytes: number) => void;
  /** Called once the blob is known to be missing and the upload begins. */
  onStart?: () => void;
  chunkSize?: number;
  signal?: AbortSignal;
}

export function pushScopes(repository: string): string[] {
  return [`repository:${repository}:pull,push`];
}

export async function pushBlob(
  session: Session,
  repository: string,
  blob: Pick<Descriptor, 'digest' | 'size'>,
  options: UploadOptions,
): Promise<UploadOutcome> {
  const what = `push blob \`${blob.digest}\` to ${session.registry}/${repository}`;
  const scopes = pushScopes(repository);
  const signal = options.signal;
  const head = await session.request(scopes, `/v2/${repository}/blobs/${blob.digest}`, {
    method: 'HEAD',
    signal,
  });
  await discard(head);
  if (head.status === 200) return { how: 'exists' };
  if (head.status !== 404) throw await session.error(head, what);

  let location: string | undefined;
  for (const from of (options.mountFrom ?? []).filter((r) => r !== repository).slice(0, 3)) {
    const query = new URLSearchParams({ mount: blob.digest, from });
    const res = await session.request(
      [...scopes, `repository:${from}:pull`],
      `/v2/${repository}/blobs/uploads/?${query}`,
      {
        method: 'POST',
        headers: { 'Content-Length': '0' },
        signal,
      },
    );
    await discard(res);
    if (res.status === 201) return { how: 'mounted', from };
    // 202: the registry would not mount but opened an ordinary upload; use it.
    if (res.status === 202) {
      location = uploadLocation(res, what);
      break;
    }
  }
  options.onStart?.();
  location ??= await startUpload(session, repository, scopes, what, signal);
  const bytes = await sendBlob(session, repository, scopes, location, blob, options, what);
  return { how: 'uploaded', bytes };
}

async function startUpload(
  session: Session,
  repository: string,
  scopes: string[],
  what: string,
  signal?: AbortSignal,
): Promise<string> {
  const res = await session.request(scopes, `/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    headers: { 'Content-Length': '0' },
    signal,
  });
  if (res.status !== 202) throw await session.error(res, what);
  await discard(res);
  return uploadLocation(res, what);
}

function uploadLocation(res: Response, what: string): string {
  const location = header(res, 'location');
  if (!location) throw new DataLoss(`${what}: the registry opened an upload without a Location`);
  return new URL(location, res.url).toString();
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

/** Sends the bytes from wherever the session stands; returns how many were sent in all. */
async function sendBlob(
  session: Session,
  repository: string,
  scopes: string[],
  start: string,
  blob: Pick<Descriptor, 'digest' | 'size'>,
  options: UploadOptions,
  what: string,
): Promise<number> {
  const chunk = options.chunkSize ?? CHUNK;
  const signal = options.signal;
  let location = start;
  let offset = 0;
  let sent = 0;
  let recoveries = 0;
  const body = (from: number, to: number) => () =>
    counting(options.read(from, to), from, (n) => options.onBytes?.(n));
  for (;;) {
    try {
      if (offset === 0 && blob.size <= chunk) {
        // Monolithic: the whole blob in the closing PUT.
        const res = await session.request(scopes, withDigest(location, blob.digest), {
          method: 'PUT',
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(blob.size) },
          body: body(0, blob.size),
          retry: false,
          signal,
        });
        if (res.status !== 201) throw await session.error(res, what);
        await discard(res);
        return sent + blob.size;
      }
      while (offset < blob.size) {
        const end = Math.min(offset + chunk, blob.size);
        const res = await session.request(scopes, location, {
          method: 'PATCH',
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Length': String(end - offset),
            'Content-Range': `${offset}-${end - 1}`,
          },
          body: body(offset, end),
          retry: false,
          signal,
        });
        if (res.status !== 202) throw await session.error(res, what);
        await discard(res);
        location = uploadLocation(res, what);
        sent += end - offset;
        offset = end;
      }
      const res = await session.request(scopes, withDigest(location, blob.digest), {
        method: 'PUT',
        headers: { 'Content-Length': '0' },
        signal,
      });
      if (res.status !== 201) throw await session.error(res, what);
      await discard(res);
      return sent;
    } catch (err) {
      const retryable =
        isTransientError(err) || (err instanceof Error && 'status' in err && Number(err.status) >= 500);
      if (!retryable || ++recoveries > RECOVERIES)
        throw err instanceof Error && !('status' in err) ? session.connectionError(err) : err;
      // distribution-spec "Getting an upload session's status": 204 with Range 0-<last byte>.
      const status = await session.request(scopes, location, { signal });
      await discard(status);
      if (status.status !== 204) {
        // The session is gone (expired, or the registry restarted): begin a new one.
        location = await startUpload(session, repository, scopes, what, signal);
        offset = 0;
        continue;
      }
      location = uploadLocation(status, what);
      const range = /^(?:bytes=)?0-(\d+)$/.exec(header(status, 'range') ?? '');
      offset = range ? Number(range[1]) + 1 : 0;
    }
  }
}

async function* counting(
  source: AsyncIterable<Buffer>,
  from: number,
  onBytes: (n: number) => void,
): AsyncGenerator<Buffer> {
  let at = from;
  for await (const chunk of source) {
    at += chunk.length;
    onBytes(at);
    yield chunk;
  }
}
