/**
 * A layer leaving the machine needs a compressed blob. It is made once, from the layer's
 * rebuilt tar, and the mapping diff ID → blob digest is remembered, so a second save or push
 * of the same layer costs nothing (DESIGN.md, "Data on disk").
 */
import { compressGzip, compressZstd } from '../archive/compression.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { Store } from '../store/store.js';

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
    if (store.content.has(known.digest)) return { mediaType, digest: known.digest, size: known.size };
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
