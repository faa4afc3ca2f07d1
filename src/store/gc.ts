/**
 * Garbage collection: what nothing references goes. Roots are tags (and, with
 * `keepDangling`, every manifest); from them manifests → images → layers → layer blobs.
 * The caller holds the store lock exclusive.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Digest } from '../oci/digest.js';
import { errnoCode } from '../util/errors.js';
import { removeTree } from './layer-store.js';
import type { Store } from './store.js';

export interface CollectResult {
  images: Digest[];
  layers: Digest[];
  blobs: Digest[];
  tempFiles: number;
  bytesFreed: number;
}

export interface CollectOptions {
  /** Remove untagged manifests and their images too (`system prune`); rmi keeps them. */
  dangling?: boolean;
  /** Remove everything in tmp/ (only safe under the exclusive lock). */
  temp?: boolean;
}

export function collectGarbage(store: Store, options: CollectOptions = {}): CollectResult {
  const result: CollectResult = { images: [], layers: [], blobs: [], tempFiles: 0, bytesFreed: 0 };
  const { meta } = store;

  meta.transaction(() => {
    const inUse = new Set(
      (meta.db.prepare('SELECT DISTINCT image_id FROM containers').all() as { image_id: Digest }[]).map(
        (r) => r.image_id,
      ),
    );
    if (options.dangling) {
      for (const m of meta.manifests()) {
        const tagged = meta.db.prepare('SELECT 1 FROM tags WHERE manifest_digest = ?').get(m.digest);
        // A container starts from its image's manifest: a dangling one it uses stays.
        if (!tagged && !inUse.has(m.image_id)) meta.deleteManifest(m.digest);
      }
    }
    for (const image of meta.images()) {
      // A container's image stays, tagged or not, for as long as the container exists.
      if (meta.manifestsOf(image.id).length === 0 && !inUse.has(image.id)) {
        meta.deleteImage(image.id);
        result.images.push(image.id);
      }
    }
    const used = new Set(
      (meta.db.prepare('SELECT DISTINCT diff_id FROM image_layers').all() as { diff_id: Digest }[]).map(
        (r) => r.diff_id,
      ),
    );
    for (const layer of meta.layers()) {
      if (!used.has(layer.diff_id)) {
        meta.deleteLayer(layer.diff_id);
        result.layers.push(layer.diff_id);
      }
    }
  });

  // Files go after the rows: a crash in between leaves unreferenced files, which are garbage
  // for the next prune, never rows pointing at missing files.
  const liveLayers = new Set(meta.layers().map((l) => l.diff_id));
  for (const diffId of store.layers.list()) {
    if (liveLayers.has(diffId)) continue;
    result.bytesFreed += treeSize(store.layers.dir(diffId));
    store.layers.delete(diffId);
    if (!result.layers.includes(diffId)) result.layers.push(diffId);
  }

  const liveBlobs = new Set<Digest>();
  for (const m of meta.manifests()) liveBlobs.add(m.digest);
  for (const i of meta.images()) liveBlobs.add(i.id);
  for (const b of meta.layerBlobs()) liveBlobs.add(b.digest);
  for (const digest of store.content.list()) {
    if (liveBlobs.has(digest)) continue;
    result.bytesFreed += store.content.delete(digest);
    result.blobs.push(digest);
  }

  if (options.temp) {
    for (const name of fs.readdirSync(store.paths.tmp)) {
      const full = path.join(store.paths.tmp, name);
      result.bytesFreed += treeSize(full);
      removeTree(full);
      result.tempFiles++;
    }
  }
  return result;
}

/** Bytes of the files under `root` (apparent sizes, as `du --apparent-size -b`). */
export function treeSize(root: string): number {
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const current = stack.pop()!;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(current);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      throw err;
    }
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(current)) stack.push(path.join(current, name));
    } else {
      total += st.size;
    }
  }
  return total;
}

/**
 * The layers a failed load or pull unpacked go again, unless an image (committed meanwhile,
 * perhaps by another process) uses them.
 */
export function forgetLayers(store: Store, diffIds: Digest[]): void {
  for (const diffId of diffIds) {
    const used = store.meta.db.prepare('SELECT 1 FROM image_layers WHERE diff_id = ? LIMIT 1').get(diffId);
    if (used) continue;
    store.meta.deleteLayer(diffId);
    store.layers.delete(diffId);
  }
}
