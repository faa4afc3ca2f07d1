/**
 * Manifests on the wire (distribution-spec "Pulling manifests", "Pushing Manifests"). Their
 * bytes are their identity: what arrives is checked against the digest asked for (or the
 * registry's Docker-Content-Digest) and kept exactly; nothing is re-serialised.
 */
import { digestOf, isDigest, type Digest } from '../../oci/digest.js';
import { MAX_METADATA_BYTES } from '../../oci/limits.js';
import { MediaType, mediaTypeOfContentType } from '../../oci/media-types.js';
import { DataLoss, InvalidArgument, SkiffError } from '../../util/errors.js';
import { pullScope } from './download.js';
import type { Session } from './session.js';
import { header, readBody } from './transport.js';

/** Every manifest kind skiff reads, as Docker asks (OCI and Docker, single and multi-platform). */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.DockerManifest,
].join(', ');

export interface FetchedManifest {
  bytes: Buffer;
  digest: Digest;
  /** From Content-Type; parseManifestOrIndex uses it only as a hint. */
  mediaType: string;
}

/** GET a manifest by tag or digest. A 404 is a NotFound naming the reference. */
export async function fetchManifest(
  session: Session,
  repository: string,
  reference: string,
  what: string,
  signal?: AbortSignal,
): Promise<FetchedManifest> {
  const res = await session.request([pullScope(repository)], `/v2/${repository}/manifests/${reference}`, {
    headers: { Accept: MANIFEST_ACCEPT },
    signal,
  });
  if (res.status !== 200) throw await session.error(res, what);
  const bytes = await readBody(res, MAX_METADATA_BYTES).catch((err: unknown) => {
    if (!(err instanceof SkiffError) || err.code !== 'RESPONSE_TOO_LARGE') throw err;
    throw new InvalidArgument(
      `${what}: manifest \`${reference}\` is over ${MAX_METADATA_BYTES} bytes, the limit for a manifest`,
      { code: 'METADATA_TOO_LARGE' },
    );
  });
  const digest = digestOf(bytes);
  const claimed = header(res, 'docker-content-digest');
  if (isDigest(reference) && digest !== reference) {
    throw new DataLoss(`${what}: digest mismatch: manifest has digest ${digest}`);
  }
  if (claimed !== undefined && claimed.startsWith('sha256:') && claimed !== digest) {
    throw new DataLoss(`${what}: digest mismatch: registry says ${claimed}, content has ${digest}`);
  }
  return { bytes, digest, mediaType: mediaTypeOfContentType(header(res, 'content-type') ?? '') };
}

/** PUT a manifest under `reference` (a tag or its digest); returns the digest the registry gave. */
export async function putManifest(
  session: Session,
  repository: string,
  reference: string,
  manifest: { bytes: Buffer; mediaType: string },
  scopes: string[],
  what: string,
  signal?: AbortSignal,
): Promise<Digest> {
  const res = await session.request(scopes, `/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'Content-Type': manifest.mediaType },
    body: manifest.bytes,
    signal,
  });
  if (res.status !== 201 && res.status !== 200) throw await session.error(res, what);
  await readBody(res, 1 << 20);
  const digest = digestOf(manifest.bytes);
  const claimed = header(res, 'docker-content-digest');
  if (claimed !== undefined && claimed.startsWith('sha256:') && claimed !== digest) {
    throw new DataLoss(`${what}: registry stored digest ${claimed}, expected ${digest}`);
  }
  return digest;
}
