/**
 * `skiff import`: a rootfs tarball (plain, gzip or zstd) becomes a one-layer image, like
 * `docker import`. The tar is unpacked straight into the layer store while it is hashed;
 * its diff ID is the digest of the uncompressed tar as given.
 */
import { decompress, detectCompression } from '../archive/compression.js';
import type { ContainerConfig, ImageConfig } from '../oci/config.js';
import { hostPlatform } from '../oci/platform.js';
import { peek } from '../util/streams.js';
import type { Store } from '../store/store.js';
import { applyChange } from './changes.js';
import { commitImage, type Committed } from './commit.js';

export interface ImportOptions {
  tags?: string[];
  message?: string;
  changes?: string[];
  signal?: AbortSignal;
}

export async function importRootfs(
  store: Store,
  source: AsyncIterable<Buffer>,
  options: ImportOptions = {},
): Promise<Committed & { size: number }> {
  const containerConfig: ContainerConfig = {};
  for (const change of options.changes ?? []) applyChange(containerConfig, change);
  return store.locked('shared', async () => {
    const { head, stream } = await peek(source, 4);
    const tar = decompress(stream, detectCompression(head), { signal: options.signal });
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
