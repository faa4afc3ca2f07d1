/**
 * `docker image prune`: images no container uses go — by default only dangling ones (no tag
 * left), with `dangling=false` every unused one, tags and all. The images chosen lose their
 * tags and manifests; the garbage collector then deletes them with the layers and blobs no
 * other image needs, and counts the bytes. Under the store's exclusive lock, like `rmi`.
 */
import { parseImageConfig } from '../oci/config.js';
import type { Digest } from '../oci/digest.js';
import { collectGarbage } from '../store/gc.js';
import type { Store } from '../store/store.js';
import { InvalidArgument } from '../util/errors.js';
import { pruneFilter, type PruneFilters } from '../util/prune-filters.js';

export interface PruneImagesResult {
  untagged: string[];
  deleted: Digest[];
  bytesFreed: number;
}

/** `dangling` as Docker reads it: absent or true → dangling only; false → every unused image. */
function danglingOnly(filters: PruneFilters): boolean {
  const values = filters['dangling'] ?? [];
  if (values.length > 1) throw new InvalidArgument('prune images: more than one dangling filter');
  const value = values[0];
  if (value === undefined || /^(1|true)$/i.test(value)) return true;
  if (/^(0|false)$/i.test(value)) return false;
  throw new InvalidArgument(
    `prune images: invalid value \`${value}\` for the dangling filter (true or false)`,
  );
}

function labelsOf(store: Store, id: Digest): Record<string, string> {
  try {
    return parseImageConfig(store.content.readBytes(id)).config?.Labels ?? {};
  } catch {
    // An unreadable config is no reason to keep or to prune: it matches no label.
    return {};
  }
}

export async function pruneImages(store: Store, filters: PruneFilters = {}): Promise<PruneImagesResult> {
  const onlyDangling = danglingOnly(filters);
  const matches = pruneFilter(filters, 'prune images', ['dangling']);
  return store.locked('exclusive', () => {
    const { meta } = store;
    const untagged: string[] = [];
    meta.transaction(() => {
      const inUse = new Set(
        (meta.db.prepare('SELECT DISTINCT image_id FROM containers').all() as { image_id: Digest }[]).map(
          (r) => r.image_id,
        ),
      );
      for (const image of meta.images()) {
        if (inUse.has(image.id)) continue;
        const tags = meta.tagsOfImage(image.id);
        if (onlyDangling && tags.length > 0) continue;
        if (!matches({ created: image.created, labels: labelsOf(store, image.id) })) continue;
        for (const tag of tags) {
          meta.deleteTag(tag.name);
          untagged.push(tag.name);
        }
        for (const m of meta.manifestsOf(image.id)) meta.deleteManifest(m.digest);
      }
    });
    const collected = collectGarbage(store);
    return { untagged, deleted: collected.images, bytesFreed: collected.bytesFreed };
  });
}
