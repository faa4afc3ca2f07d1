/**
 * An image as an immutable value: its manifest and config as exact bytes plus their parsed
 * form. Lookups accept what Docker accepts: a name (`base`, `base:1`, `localhost:5000/a@sha256:…`),
 * a full image ID (`sha256:…`) or a unique prefix of one.
 */
import { parseImageConfig, type ImageConfig } from '../oci/config.js';
import type { Digest } from '../oci/digest.js';
import { parseManifest, type Manifest } from '../oci/manifest.js';
import { formatReference, parseReference } from '../oci/reference.js';
import { InvalidArgument, NotFound } from '../util/errors.js';
import type { Store } from '../store/store.js';

export interface Image {
  id: Digest;
  manifestDigest: Digest;
  manifestBytes: Buffer;
  manifest: Manifest;
  mediaType: string;
  configBytes: Buffer;
  config: ImageConfig;
}

export interface Resolved {
  imageId: Digest;
  manifestDigest: Digest;
  /** The full tag name when the input named a tag. */
  tag?: string;
}

const ID_PREFIX = /^(?:sha256:)?([0-9a-f]{4,64})$/;

export function resolveImage(store: Store, input: string): Resolved {
  const { meta } = store;
  const byName = tryReference(input);
  if (byName !== undefined) {
    if (byName.digest !== undefined) {
      const row = meta.manifest(byName.digest);
      if (row) return { imageId: row.image_id, manifestDigest: row.digest };
    } else {
      const name = formatReference(byName);
      const tag = meta.tag(name);
      if (tag) {
        const row = meta.manifest(tag.manifest_digest)!;
        return { imageId: row.image_id, manifestDigest: row.digest, tag: name };
      }
    }
  }
  const id = ID_PREFIX.exec(input);
  if (id) {
    const matches = meta.imagesByPrefix(id[1]!);
    if (matches.length > 1)
      throw new InvalidArgument(
        `find image \`${input}\`: ambiguous ID prefix, ${matches.length} images match`,
      );
    const image = matches[0];
    if (image) {
      const manifests = meta.manifestsOf(image.id);
      const first = manifests[0];
      if (first) return { imageId: image.id, manifestDigest: first.digest };
    }
  }
  if (byName === undefined && !id) {
    // Neither a name nor an ID: say what is wrong with it as a name.
    parseReference(input);
  }
  throw new NotFound(`find image \`${input}\`: no such image`, { code: 'IMAGE_NOT_FOUND' });
}

function tryReference(input: string): ReturnType<typeof parseReference> | undefined {
  try {
    return parseReference(input);
  } catch {
    return undefined;
  }
}

export function readImage(store: Store, resolved: Pick<Resolved, 'imageId' | 'manifestDigest'>): Image {
  const row = store.meta.manifest(resolved.manifestDigest);
  if (!row) throw new NotFound(`read image \`${resolved.manifestDigest}\`: manifest not recorded`);
  const manifestBytes = store.content.readBytes(row.digest);
  const manifest = parseManifest(manifestBytes, row.media_type);
  const configBytes = store.content.readBytes(resolved.imageId);
  return {
    id: resolved.imageId,
    manifestDigest: row.digest,
    manifestBytes,
    manifest,
    mediaType: row.media_type,
    configBytes,
    config: parseImageConfig(configBytes),
  };
}

export function findImage(store: Store, input: string): Image {
  return readImage(store, resolveImage(store, input));
}

/** Full tag names for a user's input: `base:1` → `docker.io/library/base:1`. */
export function tagName(input: string): string {
  const ref = parseReference(input);
  if (ref.digest !== undefined) throw new InvalidArgument(`tag \`${input}\`: a tag cannot contain a digest`);
  return formatReference(ref);
}
