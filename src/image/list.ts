/**
 * What `skiff images` shows: per image its size, the part it shares with other images (layers
 * another image also uses) and its unique part. Docker's "virtual size" without the double
 * counting: a layer is on disk once, however many images use it.
 */
import type { Digest } from '../oci/digest.js';
import { parseReference, type Reference } from '../oci/reference.js';
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

/**
 * Every image, or with `reference` those it names, with only the tags it names (as `docker
 * images NAME` shows): `app` (any tag of docker.io/library/app), `app:1`, `127.0.0.1:5000/a/b`,
 * `app@sha256:…` — normalised as every other command reads a name, so a registry's port is
 * never taken for a tag. Shared and unique sizes count every image, listed or not.
 */
export function listImages(store: Store, options: { reference?: string } = {}): ImageSummary[] {
  const { meta } = store;
  const want =
    options.reference === undefined ? undefined : parseReference(options.reference, { defaultTag: false });
  const images = meta.images();
  const users = new Map<Digest, number>();
  const layersOf = new Map<Digest, Digest[]>();
  for (const image of images) {
    const layers = [...new Set(meta.imageLayers(image.id))];
    layersOf.set(image.id, layers);
    for (const diffId of layers) users.set(diffId, (users.get(diffId) ?? 0) + 1);
  }
  const layerSize = new Map(meta.layers().map((l) => [l.diff_id, l.size]));
  const summaries = images.map((image): ImageSummary => {
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
  if (want === undefined) return summaries;
  return summaries
    .filter((image) => want.digest === undefined || image.manifests.includes(want.digest))
    .map((image) => ({ ...image, tags: image.tags.filter((name) => names(want, name)) }))
    .filter((image) => image.tags.length > 0);
}

/** Whether tag `name` (as stored, fully qualified) is in the repository `want` names, with its tag if it has one. */
function names(want: Reference, name: string): boolean {
  const ref = parseReference(name);
  return (
    ref.registry === want.registry &&
    ref.repository === want.repository &&
    (want.tag === undefined || ref.tag === want.tag)
  );
}
