/**
 * The metadata database (SQLite, WAL). Schema version 12:
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
 *                                                     (verified: decompressed, matched diff_id)
 *
 *   containers id PK, name UNIQUE, image_id ─▶ images   state, pid + pid_start, conmon pid, exit, health
 *   endpoints  container_id, network ─▶ networks name PK  ip, mac, aliases (one row per attachment);
 *                                                         networks keep their labels
 *   volumes    name PK, labels                           data in volumes/<name>/_data
 *   blob_locations digest, registry, repository          where a blob was pulled from or pushed to
 *                                                         (cross-repository mounts on push)
 *   services   name PK, live ─▶ releases.number          deployed services
 *   releases   (service, number) PK                      image, spec, container ids, status,
 *                                                        warm_until (the previous release kept running)
 *   build_cache key PK, parent, instruction ─▶ images    a build step's inputs → the image it made
 *                                                        (and the files it read, per path; for a
 *                                                        COPY, what it asked of its parent)
 *   events     seq PK (autoincrement)                    the event journal, newest 10,000 kept
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
  // 2: containers, networks and their endpoints
  `
  CREATE TABLE containers (
    id TEXT PRIMARY KEY,            -- 64 hex
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL REFERENCES images(id),
    image_name TEXT NOT NULL,       -- what the user asked for, for display
    created TEXT NOT NULL,
    spec TEXT NOT NULL,             -- JSON: the create options, enough to start it again
    runtime TEXT NOT NULL,          -- crun or runc
    state TEXT NOT NULL,            -- created | running | exited
    pid INTEGER,                    -- container init pid while running
    pid_start INTEGER,              -- its start time (clock ticks, /proc/<pid>/stat field 22): pid reuse check
    conmon_pid INTEGER,
    conmon_start INTEGER,
    exit_code INTEGER,
    started TEXT,
    finished TEXT,
    restart_count INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX containers_by_image ON containers(image_id);
  CREATE TABLE networks (
    name TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    driver TEXT NOT NULL,           -- bridge
    bridge TEXT NOT NULL,           -- Linux bridge device name
    subnet TEXT NOT NULL,           -- CIDR
    gateway TEXT NOT NULL,
    created TEXT NOT NULL
  );
  CREATE TABLE endpoints (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    network TEXT NOT NULL REFERENCES networks(name),
    ip TEXT NOT NULL,
    mac TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]',   -- JSON array of extra names
    PRIMARY KEY (container_id, network)
  );
  CREATE UNIQUE INDEX endpoints_by_ip ON endpoints(network, ip);
  CREATE TABLE volumes (
    name TEXT PRIMARY KEY,
    created TEXT NOT NULL
  );
  `,
  // 3: health check state of containers
  `
  ALTER TABLE containers ADD COLUMN health TEXT;   -- JSON: status, failing streak, last results
  `,
  // 4: where blobs are known to exist in registries (a hint for cross-repository mounts)
  `
  CREATE TABLE blob_locations (
    digest TEXT NOT NULL,
    registry TEXT NOT NULL,         -- "127.0.0.1:5000", "docker.io"
    repository TEXT NOT NULL,       -- "team/base"
    seen TEXT NOT NULL,
    PRIMARY KEY (digest, registry, repository)
  );
  `,
  // 5: deployed services and their release history
  `
  CREATE TABLE services (
    name TEXT PRIMARY KEY,
    live INTEGER,                   -- the release serving now (NULL before the first succeeds)
    created TEXT NOT NULL
  );
  CREATE TABLE releases (
    service TEXT NOT NULL REFERENCES services(name) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    image_id TEXT NOT NULL,
    image_name TEXT NOT NULL,
    spec TEXT NOT NULL,             -- JSON: replicas, port, health, env, network, command, volumes
    containers TEXT NOT NULL,       -- JSON array of container ids (kept stopped after the release)
    status TEXT NOT NULL,           -- deploying | live | stopped | failed | retired
    created TEXT NOT NULL,
    author TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (service, number)
  );
  `,
  // 6: the build cache: a step's inputs → the image it made
  `
  CREATE TABLE build_cache (
    key TEXT PRIMARY KEY,           -- sha256 of the parts below
    parent TEXT NOT NULL,           -- parent image ID, or "scratch"
    instruction TEXT NOT NULL,      -- the step after expansion, e.g. "RUN apt-get update"
    args TEXT NOT NULL,             -- JSON: the build args in effect that the step can see
    inputs TEXT NOT NULL,           -- checksum of the files a COPY/ADD reads ("" for none)
    image_id TEXT NOT NULL,         -- the image the step made
    created TEXT NOT NULL
  );
  CREATE INDEX build_cache_by_parent ON build_cache(parent, instruction);
  `,
  // 7: which files a COPY/ADD step read, so a miss can name the ones that changed
  `
  ALTER TABLE build_cache ADD COLUMN files TEXT;  -- JSON {path: record digest}, or NULL
  `,
  // 8: a layer blob is sent (push, save) as its layer only once it was checked to be that layer;
  // rows written before the check existed start unverified and are checked on first use
  `
  ALTER TABLE layer_blobs ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;  -- 1: decompressed, digest = diff_id
  `,
  // 9: what a COPY asked of its parent image and the answers, so its layer serves another
  // parent that answers alike (entries whose parent is "any parent")
  `
  ALTER TABLE build_cache ADD COLUMN view TEXT;  -- JSON [[method, path, answer]…], or NULL
  `,
  // 10: the event journal, appended to by every skiff process and followed by `skiff events`
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- journal position; never reused
    time_nano INTEGER NOT NULL,             -- ns since the epoch
    type TEXT NOT NULL,                     -- container, image, network, volume, builder, service
    action TEXT NOT NULL,                   -- create, start, die, pull, tag, connect, …
    actor_id TEXT NOT NULL,
    attributes TEXT NOT NULL                -- JSON {name, image, exitCode, …}
  );
  CREATE INDEX events_by_time ON events(time_nano);
  `,
  // 11: a release switched away from stays running, drained, for a window (status 'warm'), so a
  // rollback inside it is only a proxy switch; any skiff process reads until when
  `
  ALTER TABLE releases ADD COLUMN warm_until TEXT;  -- ISO time the warm window ends, or NULL
  `,
  // 12: labels on networks and volumes, as Docker keeps them (compose compares them; Ryuk and
  // prune filter on them)
  `
  ALTER TABLE networks ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';  -- JSON object
  ALTER TABLE volumes ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';   -- JSON object
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
