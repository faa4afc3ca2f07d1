/**
 * `skiff rmi`: untag, and delete an image when no tag is left, like `docker rmi`. Layers and
 * blobs no other image uses are deleted at once; the lock is exclusive so no concurrent
 * import is reusing them.
 */
import type { Digest } from '../oci/digest.js';
import { FailedPrecondition } from '../util/errors.js';
import { collectGarbage } from '../store/gc.js';
import type { Store } from '../store/store.js';
import { resolveImage } from './image.js';

export interface RemoveResult {
  untagged: string[];
  deleted: Digest[];
  bytesFreed: number;
}

export async function removeImages(
  store: Store,
  inputs: string[],
  options: { force?: boolean } = {},
): Promise<RemoveResult> {
  return store.locked('exclusive', () => {
    const result: RemoveResult = { untagged: [], deleted: [], bytesFreed: 0 };
    const { meta } = store;
    for (const input of inputs) {
      const resolved = resolveImage(store, input);
      meta.transaction(() => {
        const tags = meta.tagsOfImage(resolved.imageId);
        const user = meta.db
          .prepare('SELECT name FROM containers WHERE image_id = ? LIMIT 1')
          .get(resolved.imageId) as { name: string } | undefined;
        if (user && (resolved.tag === undefined || tags.length === 1) && !options.force) {
          throw new FailedPrecondition(
            `remove image \`${input}\`: container \`${user.name}\` uses it; remove the container first or use --force`,
            { code: 'IMAGE_IN_USE' },
          );
        }
        if (resolved.tag !== undefined) {
          meta.deleteTag(resolved.tag);
          result.untagged.push(resolved.tag);
          if (tags.length > 1) return;
        } else if (tags.length > 1 && !options.force) {
          throw new FailedPrecondition(
            `remove image \`${input}\`: referenced by ${tags.length} tags (${tags.map((t) => t.name).join(', ')}); remove them by name or use --force`,
            { code: 'IMAGE_IN_USE' },
          );
        } else {
          for (const tag of tags) {
            meta.deleteTag(tag.name);
            result.untagged.push(tag.name);
          }
        }
        // As with `docker rmi -f`: an image a container uses loses its names, not its content
        // (the container must still start; prune keeps it while the container exists).
        if (user) return;
        for (const m of meta.manifestsOf(resolved.imageId)) meta.deleteManifest(m.digest);
      });
    }
    const collected = collectGarbage(store);
    result.deleted = collected.images;
    result.bytesFreed = collected.bytesFreed;
    return result;
  });
}
