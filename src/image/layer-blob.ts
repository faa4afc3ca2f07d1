/**
 * A layer leaving the machine needs a compressed blob. It is made once, from the layer's
 * rebuilt tar, and the mapping diff ID → blob digest is remembered, so a second save or push
 * of the same layer costs nothing (DESIGN.md, "Data on disk"). A remembered blob goes out as
 * the layer only once it was checked to be that layer (decompressed and hashed): what a
 * registry or an archive said about it is not enough.
 */
import { compressGzip, compressZstd } from '../archive/compression.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { MediaType, layerCompression } from '../oci/media-types.js';
import { checkLayerBlob, layerBlobMismatch } from '../store/layer-blob-check.js';
import type { Store } from '../store/store.js';
import { DataLoss } from '../util/errors.js';

export type LayerCompression = 'gzip' | 'zstd';

const MEDIA_TYPE: Record<LayerCompression, string> = {
  gzip: MediaType.OciLayerGzip,
  zstd: MediaType.OciLayerZstd,
};

export async function compressedLayerBlob(
  store: Store,
  diffId: Digest,
  options: { compression?: LayerCompression; signal?: AbortSignal } = {},
): Promise<Descriptor> {
  const mediaType = MEDIA_TYPE[options.compression ?? 'gzip'];
  for (const known of store.meta.layerBlobsOf(diffId, mediaType)) {
    if (!store.content.has(known.digest)) continue;
    const blob = { mediaType, digest: known.digest, size: known.size };
    // A row from before blobs were checked is checked now; one that fails is not used (and is
    // damage for `system check` to report).
    if (known.verified === 1 || (await verifyLayerBlob(store, blob, diffId, options)) === undefined)
      return blob;
  }
  const tar = store.layers.tar(diffId, options);
  const compressed =
    options.compression === 'zstd'
      ? compressZstd(tar, { signal: options.signal })
      : compressGzip(tar, { signal: options.signal });
  const blob = await store.content.ingest(compressed, {}, options);
  store.meta.addLayerBlob({ digest: blob.digest, diff_id: diffId, media_type: mediaType, size: blob.size });
  return { mediaType, digest: blob.digest, size: blob.size };
}

/**
 * Whether `blob`, in blobs/, is the layer `diffId` compressed: undefined when it is, else why
 * not. A verified row answers at once; an unverified row (written before rows were verified) or
 * none is answered by decompressing and hashing the blob, and a match is recorded as verified,
 * so each blob is read once.
 */
export async function verifyLayerBlob(
  store: Store,
  blob: Descriptor,
  diffId: Digest,
  options: { signal?: AbortSignal } = {},
): Promise<string | undefined> {
  const compression = layerCompression(blob.mediaType);
  const row = store.meta.layerBlob(blob.digest);
  if (row?.verified === 1 && compression === layerCompression(row.media_type))
    return row.diff_id === diffId ? undefined : `it decompresses to ${row.diff_id}`;
  const problem = await checkLayerBlob(store.content, blob, diffId, options);
  if (problem === undefined && compression !== 'none') {
    store.meta.addLayerBlob({
      digest: blob.digest,
      diff_id: diffId,
      media_type: blob.mediaType,
      size: blob.size,
    });
  }
  return problem;
}

/** `verifyLayerBlob`, as an error of `what` ("push `app:1`") when the blob is not the layer. */
export async function requireLayerBlob(
  store: Store,
  blob: Descriptor,
  diffId: Digest,
  what: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const problem = await verifyLayerBlob(store, blob, diffId, options);
  if (problem !== undefined)
    throw new DataLoss(`${what}: ${layerBlobMismatch(blob.digest, diffId, problem)}`, {
      code: 'LAYER_BLOB_MISMATCH',
    });
}

/** Runs `fn` over items with at most `limit` running at once; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
