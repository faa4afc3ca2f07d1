/**
 * A COPY/ADD step's layer, written straight from the context as a tar — no container needed.
 * Files keep their content, mode and mtime; symlinks stay symlinks; owners are 0:0 unless
 * `--chown` says otherwise, and `--chmod` replaces the mode of what is copied (Dockerfile
 * reference, "COPY --chown --chmod"). Parent directories the destination needs and the plan
 * does not name keep what the image below has (`/tmp` stays 1777); those it lacks are made
 * root-owned 0755 with a fixed mtime, so the same inputs always give the same diff ID. ADD's
 * archives are streamed into the layer after the files, entry by entry, under their
 * destination (add-source.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ArchiveCompression } from '../archive/compression.js';
import type { Digest } from '../oci/digest.js';
import type { TarEntry } from '../archive/tar-header.js';
import { writeTar, type WriteEntry } from '../archive/tar-writer.js';
import type { Store } from '../store/store.js';
import { InvalidArgument } from '../util/errors.js';
import { archiveEntries } from './add-source.js';

export type CopyEntry =
  | {
      /** Absolute path on this host (inside the build context or another stage's rootfs). */
      source: string;
      /** Absolute path in the image. */
      dest: string;
      /** Replace the source's mode and mtime (a downloaded file: 0600, Last-Modified). */
      mode?: number;
      mtime?: number;
    }
  | {
      /** A tar archive on this host that ADD extracts into the directory `dest`. */
      archive: string;
      compression: ArchiveCompression;
      dest: string;
    };

export interface CopyLayerOptions {
  chown?: { uid: number; gid: number };
  /** Permission bits for every copied file (`--chmod=755`); directories keep theirs. */
  chmod?: number;
  /** The parent image's layer directories, topmost first: where existing parents are looked up. */
  below?: string[];
  signal?: AbortSignal;
}

export async function copyLayer(
  store: Store,
  plan: CopyEntry[],
  options: CopyLayerOptions = {},
): Promise<{ diffId: Digest; size: number }> {
  const entries = tarEntries(plan, options);
  return store.locked('shared', async () => {
    const layer = await store.layers.unpack(writeTar(entries, { signal: options.signal }), {
      signal: options.signal,
    });
    store.meta.addLayer(layer);
    return { diffId: layer.diffId, size: layer.size };
  });
}

/**
 * The entries in tar order (each directory before what is in it), bodies read lazily; then
 * each archive's entries in the archive's own order.
 */
async function* tarEntries(plan: CopyEntry[], o: CopyLayerOptions): AsyncGenerator<WriteEntry> {
  const byName = new Map<string, { entry: TarEntry; source?: string }>();
  const owner = o.chown ?? { uid: 0, gid: 0 };
  const parents = (name: string): void => {
    for (let dir = path.posix.dirname(name); dir !== '.'; dir = path.posix.dirname(dir)) {
      if (!byName.has(dir)) byName.set(dir, { entry: existingDir(dir, o.below ?? []) });
    }
  };
  const archives: Extract<CopyEntry, { archive: string }>[] = [];
  for (const item of plan) {
    const { dest } = item;
    if (!path.posix.isAbsolute(dest)) throw new InvalidArgument(`copy to \`${dest}\`: not an absolute path`);
    const name = path.posix.normalize(dest).slice(1);
    if ('archive' in item) {
      archives.push(item);
      if (name !== '') parents(`${name}/.`);
      continue;
    }
    if (name === '') continue; // the root itself has no entry
    const { source } = item;
    const st = fs.lstatSync(source);
    // --chmod sets the copied files' mode; directories keep theirs (as buildah does).
    const mode = item.mode ?? (o.chmod !== undefined && !st.isDirectory() ? o.chmod : st.mode & 0o7777);
    const mtime = item.mtime ?? Math.floor(st.mtimeMs / 1000);
    const base = { name, uid: owner.uid, gid: owner.gid, mtime, size: 0 };
    if (st.isDirectory()) byName.set(name, { entry: { ...base, name: `${name}/`, type: 'dir', mode } });
    else if (st.isSymbolicLink()) {
      byName.set(name, {
        entry: { ...base, type: 'symlink', mode: 0o777, linkname: fs.readlinkSync(source) },
      });
    } else if (st.isFile()) {
      byName.set(name, { entry: { ...base, type: 'file', mode, size: st.size }, source });
    } else {
      throw new InvalidArgument(`copy \`${source}\`: not a file, directory or symlink`);
    }
    parents(name);
  }
  // A path may come more than once (two archives with the same tree, an archive over a copied
  // file): a layer holds each path once, so the last one wins, as it would on disk — but a
  // directory is kept where it first appears, so it still precedes its contents.
  const winner = new Map<string, string>();
  if (archives.length > 0) {
    for (const [name, { entry }] of byName) winner.set(name, entry.type === 'dir' ? 'dir' : 'plain');
    for (const [n, a] of archives.entries()) {
      let at = 0;
      for await (const { entry } of archiveEntries(a.archive, a.compression, a.dest)) {
        const name = entry.name.replace(/\/$/, '');
        if (!(entry.type === 'dir' && winner.has(name)))
          winner.set(name, entry.type === 'dir' ? 'dir' : `${n}:${at}`);
        at++;
      }
    }
  }
  for (const name of [...byName.keys()].sort(byPath)) {
    const { entry, source } = byName.get(name)!;
    if (entry.type !== 'dir' && (winner.get(name) ?? 'plain') !== 'plain') continue;
    yield {
      entry,
      body: source === undefined ? undefined : fs.createReadStream(source, { highWaterMark: 1 << 20 }),
    };
  }
  const emitted = new Set(byName.keys());
  for (const [n, a] of archives.entries()) {
    let at = 0;
    for await (const item of archiveEntries(a.archive, a.compression, a.dest, o.chown)) {
      const name = item.entry.name.replace(/\/$/, '');
      const won = item.entry.type === 'dir' ? !emitted.has(name) : winner.get(name) === `${n}:${at}`;
      at++;
      if (!won) continue;
      emitted.add(name);
      yield item;
    }
  }
}

/**
 * A parent directory's entry: as the topmost layer below that has the path keeps it when it
 * is a directory there, else a new root-owned 0755 one.
 */
function existingDir(dir: string, below: string[]): TarEntry {
  for (const layer of below) {
    const st = fs.lstatSync(path.join(layer, dir), { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (!st.isDirectory()) break; // a whiteout or a file: the directory is new here
    return {
      name: `${dir}/`,
      type: 'dir',
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      mtime: Math.floor(st.mtimeMs / 1000),
      size: 0,
    };
  }
  return { name: `${dir}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 };
}

/** Path order with "/" before any other character, so a directory precedes its contents. */
function byPath(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}
