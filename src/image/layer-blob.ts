/**
 * A layer leaving the machine needs a compressed blob. It is made once, from the layer's
 * rebuilt tar, and the mapping diff ID → blob digest is remembered, so a second save or push
 * of the same layer costs nothing (DESIGN.md, "Data on disk").
 */
import { compressGzip } from '../archive/compression.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { Store } from '../store/store.js';

export async function gzipLayerBlob(
  store: Store,
  diffId: Digest,
  options: { signal?: AbortSignal } = {},
): Promise<Descriptor> {
  for (const known of store.meta.layerBlobsOf(diffId, MediaType.OciLayerGzip)) {
    if (store.content.has(known.digest))
      return { mediaType: known.media_type, digest: known.digest, size: known.size };
  }
  const blob = await store.content.ingest(
    compressGzip(store.layers.tar(diffId, options), { signal: options.signal }),
    {},
    options,
  );
  store.meta.addLayerBlob({
    digest: blob.digest,
    diff_id: diffId,
    media_type: MediaType.OciLayerGzip,
    size: blob.size,
  });
  return { mediaType: MediaType.OciLayerGzip, digest: blob.digest, size: blob.size };
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
