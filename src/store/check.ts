/**
 * `skiff system check`: every blob is re-hashed, every layer's tar rebuilt and hashed, every
 * row followed to what it points at. Damage is anything that breaks an invariant of
 * DESIGN.md; garbage (temp files, unreferenced blobs and layers) is reported apart, because a
 * crash may leave it and `system prune` removes it.
 */
import fs from 'node:fs';
import { isDigest, type Digest } from '../oci/digest.js';
import { parseImageConfig } from '../oci/config.js';
import { parseManifest } from '../oci/manifest.js';
import { layerCompression } from '../oci/media-types.js';
import { describeError } from '../util/errors.js';
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

  for (const blob of meta.layerBlobs()) {
    referenced.add(blob.digest);
    if (!content.has(blob.digest))
      problems.push(`layer blob \`${blob.digest}\`: recorded but missing from blobs/`);
  }

  for (const image of meta.images()) {
    report.checked.images++;
    referenced.add(image.id);
    if (!content.has(image.id)) {
      problems.push(`image \`${image.id}\`: config blob missing`);
      continue;
    }
    try {
      const config = parseImageConfig(content.readBytes(image.id));
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
      for (const layer of manifest.layers) {
        const local =
          content.has(layer.digest) ||
          (layerCompression(layer.mediaType) === 'none' && layerRows.has(layer.digest));
        if (!local)
          problems.push(
            `manifest \`${m.digest}\`: layer \`${layer.digest}\` is in neither blobs/ nor layers/`,
          );
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
