/**
 * The push endpoints for blobs (distribution-spec "Pushing blobs"): monolithic POST with
 * `?digest=`, sessions (POST → PATCH… → PUT), their status and cancellation, and cross-repository
 * mounts ("Mounting a blob from another repository").
 */
import { RegistryError, digestInvalid } from './errors.js';
import { drain, send, type Request, type Response } from './http.js';
import { checkDigest, checkName } from './names.js';
import type { RegistryStorage } from './storage.js';
import type { Quotas } from './quota.js';
import { ingestMonolithic, rangeHeader, type UploadSessions } from './upload-sessions.js';

export interface UploadContext {
  storage: RegistryStorage;
  uploads: UploadSessions;
  quotas: Quotas;
  /** Whether the caller may pull `name` (a mount needs it for the source repository). */
  canPull(name: string): Promise<boolean>;
}

function sessionHeaders(name: string, uuid: string, offset: number): Record<string, string> {
  return {
    Location: `/v2/${name}/blobs/uploads/${uuid}`,
    'Docker-Upload-UUID': uuid,
    Range: rangeHeader(offset),
  };
}

function blobCreated(res: Response, name: string, digest: string): void {
  send(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

/** `Content-Range: <start>-<end>` (the spec's form; `bytes ` is tolerated). */
function chunkStart(req: Request, uuid: string, offset: () => number): number | undefined {
  const header = req.headers['content-range'];
  if (header === undefined) return undefined;
  const m = /^(?:bytes )?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(header.trim());
  if (m === null || Number(m[2]) < Number(m[1]))
    throw new RegistryError(
      416,
      'BLOB_UPLOAD_INVALID',
      `read Content-Range \`${header}\` of upload \`${uuid}\`: not <start>-<end>`,
      {
        headers: { Range: rangeHeader(offset()) },
      },
    );
  return Number(m[1]);
}

export async function startUpload(
  ctx: UploadContext,
  req: Request,
  res: Response,
  name: string,
  url: URL,
): Promise<void> {
  const mount = url.searchParams.get('mount');
  const from = url.searchParams.get('from');
  if (mount !== null && from !== null) {
    const digest = checkDigest(mount);
    checkName(from);
    const size = (await ctx.canPull(from)) ? ctx.storage.blobSize(from, digest) : undefined;
    if (
      size !== undefined &&
      (await ctx.quotas.link(name, digest, size, () => ctx.storage.commitBlob(digest, { linkTo: name })))
    ) {
      drain(req);
      blobCreated(res, name, digest);
      return;
    }
    // Not mountable: the spec says to fall back to a new session (202).
  }
  const digest = url.searchParams.get('digest');
  if (digest !== null) {
    checkDigest(digest);
    await ingestMonolithic(ctx.storage, ctx.quotas, name, digest, req);
    blobCreated(res, name, digest);
    return;
  }
  drain(req);
  const uuid = ctx.uploads.create(name);
  send(res, 202, sessionHeaders(name, uuid, 0));
}

export async function patchUpload(
  ctx: UploadContext,
  req: Request,
  res: Response,
  name: string,
  uuid: string,
): Promise<void> {
  const start = chunkStart(req, uuid, () => ctx.uploads.offset(name, uuid));
  const offset = await ctx.uploads.append(name, uuid, req, start);
  send(res, 202, sessionHeaders(name, uuid, offset));
}

export async function finishUpload(
  ctx: UploadContext,
  req: Request,
  res: Response,
  name: string,
  uuid: string,
  url: URL,
): Promise<void> {
  const digest = url.searchParams.get('digest');
  if (digest === null) throw digestInvalid('', 'closing an upload needs ?digest=');
  checkDigest(digest);
  const start = chunkStart(req, uuid, () => ctx.uploads.offset(name, uuid));
  await ctx.uploads.finish(name, uuid, digest, req, start);
  blobCreated(res, name, digest);
}

export function uploadStatus(ctx: UploadContext, res: Response, name: string, uuid: string): void {
  const offset = ctx.uploads.offset(name, uuid);
  send(res, 204, sessionHeaders(name, uuid, offset));
}

export async function cancelUpload(
  ctx: UploadContext,
  res: Response,
  name: string,
  uuid: string,
): Promise<void> {
  await ctx.uploads.cancel(name, uuid);
  send(res, 204);
}
