/** Typed queries over the metadata database; the schema is drawn in database.ts. */
import type { Database as DB } from 'better-sqlite3';
import type { Digest } from '../oci/digest.js';

export interface LayerRow {
  diff_id: Digest;
  size: number;
  entries: number;
  created: string;
}

export interface LayerBlobRow {
  digest: Digest;
  diff_id: Digest;
  media_type: string;
  size: number;
  /** 1 once the blob was decompressed and hashed to diff_id (layer-blob-check.ts); 0 for rows older than that check. */
  verified: 0 | 1;
}

/** A layer blob to record: one the caller has just checked to decompress to `diff_id`. */
export type VerifiedLayerBlob = Omit<LayerBlobRow, 'verified'>;

export interface ImageRow {
  id: Digest;
  created: string | null;
  added: string;
  config_size: number;
}

export interface ManifestRow {
  digest: Digest;
  image_id: Digest;
  media_type: string;
  size: number;
  added: string;
}

export interface TagRow {
  name: string;
  manifest_digest: Digest;
  updated: string;
}

export interface NewImage {
  id: Digest;
  created: string | undefined;
  configSize: number;
  diffIds: Digest[];
  manifest: { digest: Digest; mediaType: string; size: number };
}

export class Metadata {
  constructor(readonly db: DB) {}

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  addLayer(layer: { diffId: Digest; size: number; entries: number }): void {
    this.db
      .prepare('INSERT OR IGNORE INTO layers (diff_id, size, entries, created) VALUES (?, ?, ?, ?)')
      .run(layer.diffId, layer.size, layer.entries, new Date().toISOString());
  }

  layer(diffId: Digest): LayerRow | undefined {
    return this.db.prepare('SELECT * FROM layers WHERE diff_id = ?').get(diffId) as LayerRow | undefined;
  }

  layers(): LayerRow[] {
    return this.db.prepare('SELECT * FROM layers').all() as LayerRow[];
  }

  deleteLayer(diffId: Digest): void {
    this.db.prepare('DELETE FROM layers WHERE diff_id = ?').run(diffId);
  }

  /**
   * Records `blob` as a form of its layer, verified: only for a blob that was decompressed and
   * hashed to `diff_id` (while it was unpacked, compressed from the layer, or checked).
   */
  addLayerBlob(blob: VerifiedLayerBlob): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO layer_blobs (digest, diff_id, media_type, size, verified) VALUES (?, ?, ?, ?, 1)',
      )
      .run(blob.digest, blob.diff_id, blob.media_type, blob.size);
  }

  layerBlob(digest: Digest): LayerBlobRow | undefined {
    return this.db.prepare('SELECT * FROM layer_blobs WHERE digest = ?').get(digest) as
      | LayerBlobRow
      | undefined;
  }

  /** Known blobs of a layer with the given media type (the compressed form made before). */
  layerBlobsOf(diffId: Digest, mediaType?: string): LayerBlobRow[] {
    if (mediaType === undefined) {
      return this.db.prepare('SELECT * FROM layer_blobs WHERE diff_id = ?').all(diffId) as LayerBlobRow[];
    }
    return this.db
      .prepare('SELECT * FROM layer_blobs WHERE diff_id = ? AND media_type = ?')
      .all(diffId, mediaType) as LayerBlobRow[];
  }

  layerBlobs(): LayerBlobRow[] {
    return this.db.prepare('SELECT * FROM layer_blobs').all() as LayerBlobRow[];
  }

  deleteLayerBlob(digest: Digest): void {
    this.db.prepare('DELETE FROM layer_blobs WHERE digest = ?').run(digest);
  }

  /** Records an image and one of its manifests; the caller has stored every blob and layer. */
  addImage(image: NewImage): void {
    const now = new Date().toISOString();
    const inserted = this.db
      .prepare('INSERT OR IGNORE INTO images (id, created, added, config_size) VALUES (?, ?, ?, ?)')
      .run(image.id, image.created ?? null, now, image.configSize);
    if (inserted.changes > 0) {
      const addLayer = this.db.prepare(
        'INSERT INTO image_layers (image_id, position, diff_id) VALUES (?, ?, ?)',
      );
      image.diffIds.forEach((diffId, position) => addLayer.run(image.id, position, diffId));
    }
    this.db
      .prepare(
        'INSERT OR IGNORE INTO manifests (digest, image_id, media_type, size, added) VALUES (?, ?, ?, ?, ?)',
      )
      .run(image.manifest.digest, image.id, image.manifest.mediaType, image.manifest.size, now);
  }

  image(id: Digest): ImageRow | undefined {
    return this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
  }

  images(): ImageRow[] {
    return this.db.prepare('SELECT * FROM images ORDER BY added DESC').all() as ImageRow[];
  }

  /** Images whose ID starts with the hex prefix (for `skiff rmi 3f2a…`). */
  imagesByPrefix(prefix: string): ImageRow[] {
    return this.db
      .prepare("SELECT * FROM images WHERE id LIKE ? ESCAPE '\\'")
      .all(`sha256:${prefix}%`) as ImageRow[];
  }

  imageLayers(id: Digest): Digest[] {
    return (
      this.db.prepare('SELECT diff_id FROM image_layers WHERE image_id = ? ORDER BY position').all(id) as {
        diff_id: Digest;
      }[]
    ).map((r) => r.diff_id);
  }

  deleteImage(id: Digest): void {
    this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
  }

  manifest(digest: Digest): ManifestRow | undefined {
    return this.db.prepare('SELECT * FROM manifests WHERE digest = ?').get(digest) as ManifestRow | undefined;
  }

  manifests(): ManifestRow[] {
    return this.db.prepare('SELECT * FROM manifests').all() as ManifestRow[];
  }

  manifestsOf(imageId: Digest): ManifestRow[] {
    return this.db
      .prepare('SELECT * FROM manifests WHERE image_id = ? ORDER BY added')
      .all(imageId) as ManifestRow[];
  }

  deleteManifest(digest: Digest): void {
    this.db.prepare('DELETE FROM manifests WHERE digest = ?').run(digest);
  }

  setTag(name: string, manifestDigest: Digest): void {
    this.db
      .prepare('INSERT OR REPLACE INTO tags (name, manifest_digest, updated) VALUES (?, ?, ?)')
      .run(name, manifestDigest, new Date().toISOString());
  }

  tag(name: string): TagRow | undefined {
    return this.db.prepare('SELECT * FROM tags WHERE name = ?').get(name) as TagRow | undefined;
  }

  tags(): TagRow[] {
    return this.db.prepare('SELECT * FROM tags ORDER BY name').all() as TagRow[];
  }

  tagsOfImage(imageId: Digest): TagRow[] {
    return this.db
      .prepare(
        'SELECT t.* FROM tags t JOIN manifests m ON m.digest = t.manifest_digest WHERE m.image_id = ? ORDER BY t.name',
      )
      .all(imageId) as TagRow[];
  }

  deleteTag(name: string): void {
    this.db.prepare('DELETE FROM tags WHERE name = ?').run(name);
  }

  /** Remembers that `digest` exists in a registry's repository (pulled from or pushed there). */
  addBlobLocation(digest: Digest, registry: string, repository: string): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO blob_locations (digest, registry, repository, seen) VALUES (?, ?, ?, ?)',
      )
      .run(digest, registry, repository, new Date().toISOString());
  }

  /** Repositories of `registry` known to hold `digest`, most recently seen first. */
  blobLocations(digest: Digest, registry: string): string[] {
    return (
      this.db
        .prepare('SELECT repository FROM blob_locations WHERE digest = ? AND registry = ? ORDER BY seen DESC')
        .all(digest, registry) as { repository: string }[]
    ).map((r) => r.repository);
  }
}
