/**
 * Whether a blob is a compressed form of a layer: decompressed by its media type and hashed,
 * its uncompressed digest must be the layer's diff ID. The blob's own digest says only that its
 * bytes arrived intact; it says nothing of which layer they hold. A registry or an archive can
 * name any blob beside any diff ID, so a blob becomes a layer's recorded form (`layer_blobs`)
 * only after this check, and `system check` repeats it for every recorded one.
 */
import { decompress } from '../archive/compression.js';
import { createDigester, parseDigest, type Digest } from '../oci/digest.js';
import { layerCompression } from '../oci/media-types.js';
import { SkiffError } from '../util/errors.js';
import type { ContentStore } from './content-store.js';

export interface DiffIdOf {
  diffId: Digest;
  /** Bytes of the uncompressed tar. */
  size: number;
}

/** Hashes an uncompressed layer tar as it streams by (with the algorithm of `like`). */
export async function diffIdOf(
  tar: AsyncIterable<Buffer>,
  like: Digest,
  options: { signal?: AbortSignal } = {},
): Promise<DiffIdOf> {
  const digester = createDigester(parseDigest(like).algorithm);
  for await (const chunk of tar) {
    options.signal?.throwIfAborted();
    digester.update(chunk);
  }
  return { diffId: digester.digest(), size: digester.bytes };
}

/**
 * Checks a blob of the content store against the layer `diffId`: undefined when it decompresses
 * (as its media type says) to exactly that layer's tar, else why not, as the end of a sentence
 * ("it decompresses to sha256:…"). Errors other than bad content (an abort, a missing zstd)
 * are thrown.
 */
export async function checkLayerBlob(
  content: ContentStore,
  blob: { digest: Digest; mediaType: string },
  diffId: Digest,
  options: { signal?: AbortSignal } = {},
): Promise<string | undefined> {
  const compression = layerCompression(blob.mediaType);
  if (compression === undefined) return `its media type ${blob.mediaType} is not a layer type`;
  // An uncompressed layer blob is the tar itself: its digest is its diff ID.
  if (compression === 'none')
    return blob.digest === diffId ? undefined : `it is an uncompressed layer whose diff ID is ${blob.digest}`;
  let got: Digest;
  try {
    got = (
      await diffIdOf(decompress(content.open(blob.digest, options), compression, options), diffId, options)
    ).diffId;
  } catch (err) {
    if (options.signal?.aborted || !(err instanceof SkiffError) || err.category !== 'data_loss') throw err;
    return `it does not decompress as ${compression} (${err.message})`;
  }
  return got === diffId ? undefined : `it decompresses to ${got}`;
}

/** The one-line cause for a blob that is not the layer it is named with. */
export function layerBlobMismatch(blob: Digest, diffId: Digest, why: string): string {
  return `layer blob \`${blob}\` does not match diff ID \`${diffId}\`: ${why}`;
}
