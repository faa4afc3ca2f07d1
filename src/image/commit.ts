/**
 * Records a new image whose layers are already in the layer store: writes the config and
 * manifest blobs, then the rows and tags in one transaction (rows only after files). Every
 * image enters the store here (pull, load, import, build), so here the store refuses one it
 * could not read back or mount (oci/limits.ts).
 */
import { encodeImageConfig, type ImageConfig } from '../oci/config.js';
import type { Descriptor } from '../oci/descriptor.js';
import { checkLayerCount, checkMetadataSize } from '../oci/limits.js';
import { MediaType } from '../oci/media-types.js';
import type { Digest } from '../oci/digest.js';
import type { Store } from '../store/store.js';

export interface CommitInput {
  /** Exact config bytes (kept as they came), or a config to encode. */
  config: Buffer | ImageConfig;
  /** Exact manifest bytes to keep; when absent, a manifest with uncompressed layers is made. */
  manifest?: { bytes: Buffer; mediaType: string };
  tags?: string[];
}

export interface Committed {
  id: Digest;
  manifestDigest: Digest;
}

export async function commitImage(store: Store, input: CommitInput): Promise<Committed> {
  const configBytes = Buffer.isBuffer(input.config) ? input.config : encodeImageConfig(input.config);
  const config = Buffer.isBuffer(input.config)
    ? (JSON.parse(configBytes.toString('utf8')) as ImageConfig)
    : input.config;
  const diffIds = config.rootfs.diff_ids;
  checkMetadataSize(configBytes.length, 'commit image', 'its config');
  checkLayerCount(diffIds.length, 'commit image');
  // A manifest skiff makes is ~100 bytes a layer: only one from elsewhere can be too big.
  if (input.manifest) checkMetadataSize(input.manifest.bytes.length, 'commit image', 'its manifest');
  const configBlob = await store.content.writeBytes(configBytes);

  let manifestBytes: Buffer;
  let mediaType: string;
  if (input.manifest) {
    manifestBytes = input.manifest.bytes;
    mediaType = input.manifest.mediaType;
  } else {
    mediaType = MediaType.OciManifest;
    manifestBytes = localManifest(store, configBlob.digest, configBytes.length, diffIds);
  }
  const manifestBlob = await store.content.writeBytes(manifestBytes);

  store.meta.transaction(() => {
    store.meta.addImage({
      id: configBlob.digest,
      created: config.created,
      configSize: configBytes.length,
      diffIds,
      manifest: { digest: manifestBlob.digest, mediaType, size: manifestBytes.length },
    });
    for (const tag of input.tags ?? []) store.meta.setTag(tag, manifestBlob.digest);
  });
  return { id: configBlob.digest, manifestDigest: manifestBlob.digest };
}

/**
 * A manifest whose layers are the uncompressed tars (digest = diff ID), which the image spec
 * allows: skiff keeps layers unpacked and compresses only when a layer leaves the machine.
 */
function localManifest(store: Store, configDigest: Digest, configSize: number, diffIds: Digest[]): Buffer {
  const layers: Descriptor[] = diffIds.map((diffId) => {
    const row = store.meta.layer(diffId);
    if (!row) throw new Error(`commit image: layer ${diffId} is not recorded`);
    return { mediaType: MediaType.OciLayer, digest: diffId, size: row.size };
  });
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configSize },
    layers,
  };
  return Buffer.from(JSON.stringify(manifest));
}
