import fs from 'node:fs';
import path from 'node:path';

/** Where each part of a store lives under its root (see DESIGN.md, "Data on disk"). */
/** Where the store lives unless --root or SKIFF_ROOT says otherwise. */
export const DEFAULT_STORE_ROOT = '/var/lib/skiff';

export interface StorePaths {
  root: string;
  blobs: string;
  layers: string;
  tmp: string;
  db: string;
  lock: string;
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
