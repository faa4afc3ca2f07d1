import fs from 'node:fs';
import path from 'node:path';

/**
 * Where each part of a store lives under its root: every path skiff makes under the root is
 * named here, and DESIGN.md's "Data on disk" lists the same (keep the two together).
 */

/** Where the store lives unless --root or SKIFF_ROOT says otherwise. */
export const DEFAULT_STORE_ROOT = '/var/lib/skiff';

export interface StorePaths {
  root: string;
  blobs: string;
  layers: string;
  tmp: string;
  db: string;
  lock: string;
  /** The user's ingest limits (optional, written by hand). */
  settings: string;
  /** One directory per container: bundle, log, exit file, run lock, upper and work dirs. */
  containers: string;
  /** Named volumes: `volumes/<name>/_data`. */
  volumes: string;
  /** Short symlinks to layer diff dirs, so a 200-layer overlay mount fits in one page. */
  overlayLinks: string;
  /** Build context checksums, RUN --mount=type=cache dirs, compiled seccomp programs. */
  cache: string;
  /** Per-network state (address leases, hosts files). */
  networks: string;
  /** The store's HAProxy: config, admin socket, pid. */
  proxy: string;
  /** Per-service deploy locks. */
  deploy: string;
  /** Held by the one supervisor (health checks, log rotation); its pid beside it. */
  supervisorLock: string;
  supervisorPid: string;
}

export function storePaths(root: string): StorePaths {
  const abs = path.resolve(root);
  return {
    root: abs,
    blobs: path.join(abs, 'blobs'),
    layers: path.join(abs, 'layers'),
    tmp: path.join(abs, 'tmp'),
    db: path.join(abs, 'skiff.db'),
    lock: path.join(abs, 'lock'),
    settings: path.join(abs, 'settings.json'),
    containers: path.join(abs, 'containers'),
    volumes: path.join(abs, 'volumes'),
    overlayLinks: path.join(abs, 'l'),
    cache: path.join(abs, 'cache'),
    networks: path.join(abs, 'networks'),
    proxy: path.join(abs, 'proxy'),
    deploy: path.join(abs, 'deploy'),
    supervisorLock: path.join(abs, 'supervisor.lock'),
    supervisorPid: path.join(abs, 'supervisor.pid'),
  };
}

export function ensureStoreDirs(paths: StorePaths): void {
  for (const dir of [
    paths.root,
    paths.blobs,
    path.join(paths.blobs, 'sha256'),
    path.join(paths.blobs, 'sha512'),
    paths.layers,
    paths.tmp,
  ]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
}
