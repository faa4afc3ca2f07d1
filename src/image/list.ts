/**
 * What `skiff images` shows: per image its size, the part it shares with other images (layers
 * another image also uses) and its unique part. Docker's "virtual size" without the double
 * counting: a layer is on disk once, however many images use it.
 */
import type { Digest } from '../oci/digest.js';
import type { Store } from '../store/store.js';

export interface ImageSummary {
  id: Digest;
  /** Full tag names, e.g. "docker.io/library/base:1"; empty for an untagged image. */
  tags: string[];
  /** Manifest digests recorded for the image. */
  manifests: Digest[];
  created: string | undefined;
  /** Config bytes plus the uncompressed size of every layer. */
  size: number;
  /** Bytes of layers that at least one other image uses too. */
  shared: number;
  /** size − shared: what removing this image alone would free. */
  unique: number;
  layers: number;
}

export function listImages(store: Store): ImageSummary[] {
  const { meta } = store;
  const images = meta.images();
  const users = new Map<Digest, number>();
  const layersOf = new Map<Digest, Digest[]>();
  for (const image of images) {
    const layers = [...new Set(meta.imageLayers(image.id))];
    layersOf.set(image.id, layers);
    for (const diffId of layers) users.set(diffId, (users.get(diffId) ?? 0) + 1);
  }
  const layerSize = new Map(meta.layers().map((l) => [l.diff_id, l.size]));
  return images.map((image) => {
    const layers = layersOf.get(image.id)!;
    let size = image.config_size;
    let shared = 0;
    for (const diffId of layers) {
      const bytes = layerSize.get(diffId) ?? 0;
      size += bytes;
      if ((users.get(diffId) ?? 0) > 1) shared += bytes;
    }
    return {
      id: image.id,
      tags: meta.tagsOfImage(image.id).map((t) => t.name),
      manifests: meta.manifestsOf(image.id).map((m) => m.digest),
      created: image.created ?? undefined,
      size,
      shared,
      unique: size - shared,
      layers: layers.length,
    };
  });
}
