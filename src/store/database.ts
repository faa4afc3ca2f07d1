/**
 * The metadata database (SQLite, WAL). Schema version 1:
 *
 *   tags      name PK ─────────────┐  full reference, "docker.io/library/busybox:latest"
 *                                   ▼
 *   manifests digest PK, image_id ─┐  a manifest blob in blobs/; several may share one image
 *                                   ▼
 *   images    id PK (config digest) ─┐  the config blob in blobs/; created, os/arch
 *                                     ▼
 *   image_layers image_id, position, diff_id ─▶ layers diff_id PK, size, entries
 *                                                 ▲   the unpacked tree in layers/<hex>/
 *   layer_blobs digest PK, diff_id ───────────────┘   compressed forms of a layer kept in blobs/
 *
 * Every row points only at things complete on disk: files are written and renamed first, rows
 * inserted after, in one transaction. Rows nobody points at (a layer no image uses, an untagged
 * manifest) are garbage for `system prune`, never damage. Migrations are numbered; the
 * database's user_version is the number of the last one applied.
 */
import Database from 'better-sqlite3';
import type { Database as DB } from 'better-sqlite3';

const migrations: string[] = [
  // 1: images, layers, tags
  `
  CREATE TABLE layers (
    diff_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,          -- bytes of the uncompressed layer tar
    entries INTEGER NOT NULL,
    created TEXT NOT NULL
  );
  CREATE TABLE layer_blobs (
    digest TEXT PRIMARY KEY,        -- a compressed (or uncompressed) blob of the layer in blobs/
    diff_id TEXT NOT NULL REFERENCES layers(diff_id) ON DELETE CASCADE,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL
  );
  CREATE INDEX layer_blobs_by_diff ON layer_blobs(diff_id);
  CREATE TABLE images (
    id TEXT PRIMARY KEY,            -- digest of the config blob
    created TEXT,                   -- from the config
    added TEXT NOT NULL,
    config_size INTEGER NOT NULL
  );
  CREATE TABLE image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    diff_id TEXT NOT NULL REFERENCES layers(diff_id),
    PRIMARY KEY (image_id, position)
  );
  CREATE INDEX image_layers_by_diff ON image_layers(diff_id);
  CREATE TABLE manifests (
    digest TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    added TEXT NOT NULL
  );
  CREATE INDEX manifests_by_image ON manifests(image_id);
  CREATE TABLE tags (
    name TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL REFERENCES manifests(digest) ON DELETE CASCADE,
    updated TEXT NOT NULL
  );
  CREATE INDEX tags_by_manifest ON tags(manifest_digest);
  `,
];

export function openDatabase(file: string): DB {
  const db = new Database(file, { timeout: 30_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

function migrate(db: DB): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current >= migrations.length) return;
  // BEGIN IMMEDIATE takes the write lock first, so two processes never both migrate.
  db.exec('BEGIN IMMEDIATE');
  try {
    const again = db.pragma('user_version', { simple: true }) as number;
    for (let i = again; i < migrations.length; i++) {
      db.exec(migrations[i]!);
      db.pragma(`user_version = ${i + 1}`);
    }
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

export const schemaVersion = migrations.length;
