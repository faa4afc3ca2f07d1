/**
 * Manifests (distribution-spec "Pulling manifests", "Pushing Manifests", "Deleting
 * Manifests") and the referrers API ("Listing Referrers"). Manifests are kept and served as
 * their exact bytes; they are parsed only to check them and to follow their references.
 */
import type { Descriptor } from '../../oci/descriptor.js';
import { digestOf, parseDigest, type Digest } from '../../oci/digest.js';
import { MAX_METADATA_BYTES } from '../../oci/limits.js';
import { parseManifestOrIndex, type Index, type Manifest } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-types.js';
import { describeError } from '../../util/errors.js';
import { RegistryError, digestInvalid, manifestUnknown } from './errors.js';
import { readBody, send, sendJson, type HeaderValue, type Request, type Response } from './http.js';
import { checkDigest, checkTag, lookupReference, parseReference } from './names.js';
import type { RegistryStorage } from './storage.js';

function resolve(
  storage: RegistryStorage,
  name: string,
  reference: string,
): { digest: Digest; mediaType: string } {
  const ref = lookupReference(reference);
  if (ref === undefined) throw manifestUnknown(reference, name);
  const digest = 'digest' in ref ? ref.digest : storage.resolveTag(name, ref.tag);
  const mediaType = digest === undefined ? undefined : storage.manifestType(name, digest);
  if (digest === undefined || mediaType === undefined) throw manifestUnknown(reference, name);
  return { digest, mediaType };
}

export function getManifest(
  storage: RegistryStorage,
  req: Request,
  res: Response,
  name: string,
  reference: string,
): void {
  const { digest, mediaType } = resolve(storage, name, reference);
  let bytes: Buffer;
  try {
    bytes = storage.content.readBytes(digest, MAX_METADATA_BYTES);
  } catch {
    throw manifestUnknown(reference, name);
  }
  const headers = { 'Content-Type': mediaType, 'Docker-Content-Digest': digest, ETag: `"${digest}"` };
  if (req.method === 'HEAD') send(res, 200, { ...headers, 'Content-Length': bytes.length });
  else send(res, 200, headers, bytes);
}

/** What a manifest points to that must already be in the repository. */
function references(doc: { kind: 'manifest'; manifest: Manifest } | { kind: 'index'; index: Index }): {
  blobs: Descriptor[];
  manifests: Descriptor[];
} {
  if (doc.kind === 'index') return { blobs: [], manifests: doc.index.manifests };
  // Foreign (non-distributable) layers with URLs are fetched from elsewhere, never pushed here.
  const layers = doc.manifest.layers.filter((l) => !(l.urls !== undefined && l.urls.length > 0));
  return { blobs: [doc.manifest.config, ...layers], manifests: [] };
}

export async function putManifest(
  storage: RegistryStorage,
  req: Request,
  res: Response,
  name: string,
  reference: string,
  url: URL,
): Promise<void> {
  const ref = parseReference(reference);
  // distribution-spec "Pushing Manifests with tags": `PUT …/manifests/<digest>?tag=a&tag=b`
  // tags the manifest under each in the same request (a tag in the path is kept as well). All
  // are checked before anything is stored, so a bad one leaves no partial push behind.
  const tags = [...new Set(url.searchParams.getAll('tag'))].map(checkTag);
  const bytes = await readBody(req, MAX_METADATA_BYTES, `manifest \`${name}:${reference}\``);
  const contentType = req.headers['content-type'];
  let doc: ReturnType<typeof parseManifestOrIndex>;
  try {
    doc = parseManifestOrIndex(bytes, contentType);
  } catch (err) {
    throw new RegistryError(
      400,
      'MANIFEST_INVALID',
      `push manifest \`${name}:${reference}\`: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
  const algorithm = 'digest' in ref ? parseDigest(ref.digest).algorithm : 'sha256';
  const digest = digestOf(bytes, algorithm);
  if ('digest' in ref && ref.digest !== digest)
    throw digestInvalid(ref.digest, `the manifest's bytes have digest ${digest}`);
  const mediaType = doc.kind === 'manifest' ? doc.manifest.mediaType : doc.index.mediaType;

  // "Pushing Manifests": every blob and child manifest must already be in this repository.
  // Touching each one under the gc lock also keeps an online gc from sweeping it now.
  const { blobs, manifests } = references(doc);
  for (const d of blobs) {
    if (storage.blobSize(name, d.digest) === undefined || !(await storage.commitBlob(d.digest)))
      throw new RegistryError(
        400,
        'MANIFEST_BLOB_UNKNOWN',
        `push manifest \`${name}:${reference}\`: blob \`${d.digest}\` is not in the repository`,
        {
          detail: { digest: d.digest },
        },
      );
  }
  for (const d of manifests) {
    if (storage.manifestType(name, d.digest) === undefined || !(await storage.commitBlob(d.digest)))
      throw new RegistryError(
        400,
        'MANIFEST_BLOB_UNKNOWN',
        `push manifest \`${name}:${reference}\`: manifest \`${d.digest}\` is not in the repository`,
        {
          detail: { digest: d.digest },
        },
      );
  }

  await storage.content.writeBytes(bytes, { digest });
  storage.linkManifest(name, digest, mediaType);
  const subject = doc.kind === 'manifest' ? doc.manifest.subject : doc.index.subject;
  const headers: Record<string, HeaderValue> = {
    Location: `/v2/${name}/manifests/${digest}`,
    'Docker-Content-Digest': digest,
  };
  if (subject !== undefined) {
    storage.addReferrer(name, subject.digest, referrerDescriptor(doc, digest, bytes.length));
    headers['OCI-Subject'] = subject.digest;
  }
  if ('tag' in ref) storage.setTag(name, ref.tag, digest);
  for (const tag of tags) storage.setTag(name, tag, digest);
  // One OCI-Tag line per tag applied: a client that gets none knows to push each tag itself.
  if (tags.length > 0) headers['OCI-Tag'] = tags;
  send(res, 201, headers);
}

/** The descriptor the referrers API lists (image-spec: artifactType, else the config's type). */
function referrerDescriptor(
  doc: ReturnType<typeof parseManifestOrIndex>,
  digest: Digest,
  size: number,
): Descriptor {
  const m = doc.kind === 'manifest' ? doc.manifest : doc.index;
  const descriptor: Descriptor = { mediaType: m.mediaType, digest, size };
  const artifactType =
    m.artifactType ?? (doc.kind === 'manifest' ? doc.manifest.config.mediaType : undefined);
  if (artifactType !== undefined) descriptor.artifactType = artifactType;
  if (m.annotations !== undefined) descriptor.annotations = m.annotations;
  return descriptor;
}

/** By digest: the manifest, its tags and its referrer entry go. By tag: only the tag. */
export function deleteManifest(
  storage: RegistryStorage,
  res: Response,
  name: string,
  reference: string,
): void {
  const ref = lookupReference(reference);
  if (ref === undefined) throw manifestUnknown(reference, name);
  if ('tag' in ref) {
    if (!storage.deleteTag(name, ref.tag)) throw manifestUnknown(reference, name);
    send(res, 202);
    return;
  }
  const mediaType = storage.manifestType(name, ref.digest);
  if (mediaType === undefined) throw manifestUnknown(reference, name);
  try {
    const doc = parseManifestOrIndex(storage.content.readBytes(ref.digest, MAX_METADATA_BYTES), mediaType);
    const subject = doc.kind === 'manifest' ? doc.manifest.subject : doc.index.subject;
    if (subject !== undefined) storage.removeReferrer(name, subject.digest, ref.digest);
  } catch {
    // An unreadable manifest has no referrer entry we could find; the listing skips dead ones.
  }
  for (const tag of storage.tags(name))
    if (storage.resolveTag(name, tag) === ref.digest) storage.deleteTag(name, tag);
  storage.unlinkManifest(name, ref.digest);
  send(res, 202);
}

export function listReferrers(
  storage: RegistryStorage,
  res: Response,
  name: string,
  raw: string,
  url: URL,
): void {
  const subject = checkDigest(raw);
  const artifactType = url.searchParams.get('artifactType');
  let manifests = storage.referrers(name, subject);
  const headers: Record<string, string> = { 'Content-Type': MediaType.OciIndex };
  if (artifactType !== null) {
    manifests = manifests.filter((d) => d.artifactType === artifactType);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  sendJson(res, 200, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }, headers);
}
