/**
 * `skiff system check`: every blob is re-hashed, every layer's tar rebuilt and hashed, every
 * recorded compressed form of a layer decompressed and hashed, every row followed to what it
 * points at. Damage is anything that breaks an invariant of DESIGN.md; garbage (temp files,
 * unreferenced blobs and layers) is reported apart, because a crash may leave it and `system
 * prune` removes it.
 */
import fs from 'node:fs';
import { isDigest, type Digest } from '../oci/digest.js';
import { parseImageConfig } from '../oci/config.js';
import { parseManifest } from '../oci/manifest.js';
import { layerCompression } from '../oci/media-types.js';
import { describeError } from '../util/errors.js';
import { checkLayerBlob, layerBlobMismatch } from './layer-blob-check.js';
import type { Store } from './store.js';

export interface CheckReport {
  problems: string[];
  garbage: { tempFiles: number; unreferencedBlobs: number; unreferencedLayers: number };
  checked: { blobs: number; layers: number; images: number; manifests: number; tags: number };
}

export async function checkStore(store: Store, options: { signal?: AbortSignal } = {}): Promise<CheckReport> {
  const { meta, content, layers } = store;
  const problems: string[] = [];
  const report: CheckReport = {
    problems,
    garbage: {
      tempFiles: fs.readdirSync(store.paths.tmp).length,
      unreferencedBlobs: 0,
      unreferencedLayers: 0,
    },
    checked: { blobs: 0, layers: 0, images: 0, manifests: 0, tags: 0 },
  };

  const referenced = new Set<Digest>();
  for (const digest of content.list()) {
    options.signal?.throwIfAborted();
    report.checked.blobs++;
    if (!isDigest(digest)) {
      problems.push(`blob \`${digest}\`: name is not a digest`);
      continue;
    }
    const actual = await content.rehash(digest);
    if (actual !== digest) problems.push(`blob \`${digest}\`: content has digest ${actual}`);
  }

  const layerRows = new Map(meta.layers().map((l) => [l.diff_id, l]));
  for (const diffId of layerRows.keys()) {
    options.signal?.throwIfAborted();
    report.checked.layers++;
    if (!layers.has(diffId)) {
      problems.push(`layer \`${diffId}\`: recorded but missing from layers/`);
      continue;
    }
    const verdict = await layers.verify(diffId, options);
    if (!verdict.ok) problems.push(`layer \`${diffId}\`: ${verdict.problem}`);
  }
  for (const diffId of layers.list()) if (!layerRows.has(diffId)) report.garbage.unreferencedLayers++;

  // Each recorded form of a layer is what push and save send for it: it must decompress to it.
  for (const blob of meta.layerBlobs()) {
    options.signal?.throwIfAborted();
    referenced.add(blob.digest);
    if (!content.has(blob.digest)) {
      problems.push(`layer blob \`${blob.digest}\`: recorded but missing from blobs/`);
      continue;
    }
    const why = await checkLayerBlob(
      content,
      { digest: blob.digest, mediaType: blob.media_type },
      blob.diff_id,
      options,
    );
    if (why !== undefined) problems.push(layerBlobMismatch(blob.digest, blob.diff_id, why));
  }

  const diffIdsOf = new Map<Digest, Digest[]>();
  for (const image of meta.images()) {
    report.checked.images++;
    referenced.add(image.id);
    if (!content.has(image.id)) {
      problems.push(`image \`${image.id}\`: config blob missing`);
      continue;
    }
    try {
      const config = parseImageConfig(content.readBytes(image.id));
      diffIdsOf.set(image.id, config.rootfs.diff_ids);
      const recorded = meta.imageLayers(image.id);
      if (config.rootfs.diff_ids.join() !== recorded.join()) {
        problems.push(`image \`${image.id}\`: recorded layers differ from the config's diff_ids`);
      }
      for (const diffId of recorded) {
        if (!layerRows.has(diffId))
          problems.push(`image \`${image.id}\`: layer \`${diffId}\` is not in the store`);
      }
    } catch (err) {
      problems.push(`image \`${image.id}\`: ${describeError(err)}`);
    }
  }

  for (const m of meta.manifests()) {
    report.checked.manifests++;
    referenced.add(m.digest);
    if (!content.has(m.digest)) {
      problems.push(`manifest \`${m.digest}\`: blob missing`);
      continue;
    }
    try {
      const manifest = parseManifest(content.readBytes(m.digest), m.media_type);
      if (manifest.config.digest !== m.image_id) {
        problems.push(
          `manifest \`${m.digest}\`: config is ${manifest.config.digest}, recorded ${m.image_id}`,
        );
      }
      const diffIds = diffIdsOf.get(m.image_id) ?? [];
      for (const [i, layer] of manifest.layers.entries()) {
        const compression = layerCompression(layer.mediaType);
        const local = content.has(layer.digest) || (compression === 'none' && layerRows.has(layer.digest));
        if (!local)
          problems.push(
            `manifest \`${m.digest}\`: layer \`${layer.digest}\` is in neither blobs/ nor layers/`,
          );
        // A compressed layer of a stored manifest is pushed and saved as it is: it must be a
        // recorded (and so checked, above) form of the config's layer at its position.
        else if ((compression === 'gzip' || compression === 'zstd') && diffIds[i] !== undefined) {
          const row = meta.layerBlob(layer.digest);
          if (row?.diff_id !== diffIds[i])
            problems.push(
              `manifest \`${m.digest}\`: layer blob \`${layer.digest}\` is not recorded as layer \`${diffIds[i]}\` of its config`,
            );
        }
      }
    } catch (err) {
      problems.push(`manifest \`${m.digest}\`: ${describeError(err)}`);
    }
  }

  for (const tag of meta.tags()) {
    report.checked.tags++;
    if (!meta.manifest(tag.manifest_digest))
      problems.push(`tag \`${tag.name}\`: manifest ${tag.manifest_digest} is not recorded`);
  }

  for (const digest of content.list()) if (!referenced.has(digest)) report.garbage.unreferencedBlobs++;
  return report;
}
