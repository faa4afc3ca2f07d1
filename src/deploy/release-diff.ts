/**
 * `skiff diff web 7 8`: what changed between two releases — the image (its layers, and the
 * files of the layers only one side has), env, port, replicas, health, command, volumes.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readImage, resolveImage } from '../image/image.js';
import type { Digest } from '../oci/digest.js';
import type { Store } from '../store/store.js';
import type { Release } from './releases.js';

export interface ReleaseDiff {
  from: number;
  to: number;
  image: {
    from: string;
    to: string;
    same: boolean;
    /** layers (diff IDs) only one side has */
    added: string[];
    removed: string[];
    /** files of those layers that differ: + only in `to`, - only in `from`, ~ changed (first 500) */
    files: { change: '+' | '-' | '~'; path: string }[];
    /** when an image is no longer in the store its layers cannot be listed */
    missing?: string;
  };
  env: { added: string[]; removed: string[]; changed: { name: string; from: string; to: string }[] };
  fields: { field: string; from: string; to: string }[];
}

const MAX_FILES = 500;
/** Files up to this size are compared by content; larger ones by size and mtime. */
const HASH_LIMIT = 4 << 20;

export function diffReleases(store: Store, a: Release, b: Release): ReleaseDiff {
  return {
    from: a.number,
    to: b.number,
    image: imageDiff(store, a, b),
    env: envDiff(a.spec.env, b.spec.env),
    fields: (
      [
        ['replicas', a.spec.replicas, b.spec.replicas],
        ['port', portText(a), portText(b)],
        ['health', a.spec.health ?? '-', b.spec.health ?? '-'],
        ['command', a.spec.command?.join(' ') ?? '-', b.spec.command?.join(' ') ?? '-'],
        ['volumes', a.spec.volumes.join(' ') || '-', b.spec.volumes.join(' ') || '-'],
        ['network', a.spec.network, b.spec.network],
      ] as [string, unknown, unknown][]
    )
      .filter(([, x, y]) => String(x) !== String(y))
      .map(([field, x, y]) => ({ field, from: String(x), to: String(y) })),
  };
}

function portText(r: Release): string {
  const p = r.spec.port;
  return p ? `${p.bind}:${p.public}->${p.container}` : '-';
}

function imageDiff(store: Store, a: Release, b: Release): ReleaseDiff['image'] {
  const base = {
    from: `${a.imageName} (${a.imageId.slice(7, 19)})`,
    to: `${b.imageName} (${b.imageId.slice(7, 19)})`,
  };
  if (a.imageId === b.imageId) return { ...base, same: true, added: [], removed: [], files: [] };
  let la: Digest[];
  let lb: Digest[];
  try {
    la = layersOf(store, a.imageId);
    lb = layersOf(store, b.imageId);
  } catch (err) {
    return { ...base, same: false, added: [], removed: [], files: [], missing: (err as Error).message };
  }
  const added = lb.filter((d) => !la.includes(d));
  const removed = la.filter((d) => !lb.includes(d));
  // Layers both share hold the same files on both sides: only the others can differ.
  const before = filesOf(store, removed);
  const after = filesOf(store, added);
  const files: ReleaseDiff['image']['files'] = [];
  for (const [p, sig] of after) {
    const old = before.get(p);
    if (old === undefined) files.push({ change: '+', path: p });
    else if (old !== sig) files.push({ change: '~', path: p });
  }
  for (const p of before.keys()) if (!after.has(p)) files.push({ change: '-', path: p });
  files.sort((x, y) => x.path.localeCompare(y.path));
  return { ...base, same: false, added, removed, files: files.slice(0, MAX_FILES) };
}

function layersOf(store: Store, imageId: string): Digest[] {
  return readImage(store, resolveImage(store, imageId)).config.rootfs.diff_ids;
}

/** Path → signature (type, mode, owner, size and content) of the files the layers hold, lower first. */
function filesOf(store: Store, layers: Digest[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const d of layers) {
    const root = store.layers.diffDir(d);
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        const rel = `/${path.relative(root, full)}`;
        const st = fs.lstatSync(full);
        if (st.isCharacterDevice() && st.rdev === 0) {
          files.delete(rel); // an overlay whiteout: the path is gone in this layer
          continue;
        }
        files.set(rel, signature(full, st));
        if (e.isDirectory()) walk(full);
      }
    };
    if (fs.existsSync(root)) walk(root);
  }
  return files;
}

function signature(file: string, st: fs.Stats): string {
  const head = `${st.mode} ${st.uid}:${st.gid}`;
  if (st.isSymbolicLink()) return `${head} -> ${fs.readlinkSync(file)}`;
  if (!st.isFile()) return head;
  if (st.size > HASH_LIMIT) return `${head} ${st.size} ${st.mtimeMs}`;
  return `${head} ${createHash('sha256').update(fs.readFileSync(file)).digest('hex')}`;
}

function envDiff(a: string[], b: string[]): ReleaseDiff['env'] {
  const parse = (list: string[]) =>
    new Map(list.map((e) => [e.split('=', 1)[0]!, e.slice(e.indexOf('=') + 1)] as [string, string]));
  const ma = parse(a);
  const mb = parse(b);
  return {
    added: [...mb.keys()].filter((k) => !ma.has(k)).map((k) => `${k}=${mb.get(k)}`),
    removed: [...ma.keys()].filter((k) => !mb.has(k)),
    changed: [...mb.keys()]
      .filter((k) => ma.has(k) && ma.get(k) !== mb.get(k))
      .map((k) => ({ name: k, from: ma.get(k)!, to: mb.get(k)! })),
  };
}
