/**
 * `skiff import`: a rootfs tarball (plain, gzip or zstd) becomes a one-layer image, like
 * `docker import`. The tar is unpacked straight into the layer store while it is hashed;
 * its diff ID is the digest of the uncompressed tar as given. Its uncompressed bytes are counted
 * against the store's ingest limits as it unpacks (the compressed size is what was read so far,
 * since stdin has no size up front).
 */
import { decompress, detectCompression } from '../archive/compression.js';
import type { ContainerConfig, ImageConfig } from '../oci/config.js';
import { hostPlatform } from '../oci/platform.js';
import { peek } from '../util/streams.js';
import { countBytes, IngestBudget, ingestLimits, type IngestLimits } from '../store/ingest-limits.js';
import type { Store } from '../store/store.js';
import { applyChange } from './changes.js';
import { commitImage, type Committed } from './commit.js';

export interface ImportOptions {
  tags?: string[];
  message?: string;
  changes?: string[];
  signal?: AbortSignal;
  /** Limits over the store's settings (`--max-layer-size`…). */
  limits?: Partial<IngestLimits>;
}

export async function importRootfs(
  store: Store,
  source: AsyncIterable<Buffer>,
  options: ImportOptions = {},
): Promise<Committed & { size: number }> {
  const containerConfig: ContainerConfig = {};
  for (const change of options.changes ?? []) applyChange(containerConfig, change);
  return store.locked('shared', async () => {
    const budget = new IngestBudget(ingestLimits(store.paths.root, options.limits), 'import');
    const { head, stream } = await peek(source, 4);
    const compression = detectCompression(head);
    const read = countBytes(stream);
    const tar = budget.guard(decompress(read.stream, compression, { signal: options.signal }), {
      compressed: compression === 'none' ? undefined : read.count,
    });
    const layer = await store.layers.unpack(tar, { signal: options.signal });
    store.meta.addLayer(layer);
    const platform = hostPlatform();
    const created = new Date().toISOString();
    const config: ImageConfig = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: containerConfig,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [
        { created, created_by: 'skiff import', ...(options.message ? { comment: options.message } : {}) },
      ],
    };
    const committed = await commitImage(store, { config, tags: options.tags });
    return { ...committed, size: layer.size };
  });
}
