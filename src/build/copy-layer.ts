/**
 * A COPY/ADD step's layer, written straight from the context as a tar — no container needed.
 * Files keep their content, mode and mtime; symlinks stay symlinks; owners are 0:0 unless
 * `--chown` says otherwise, and `--chmod` replaces the mode of what is copied (Dockerfile
 * reference, "COPY --chown --chmod"); files from another stage or image keep their owners.
 * Destinations are resolved in the parent image (image-view.ts): through its symlinks, and
 * into a directory it already has. Parent directories the destination needs and the plan does
 * not name keep what the image has (`/tmp` stays 1777); those it lacks are made 0755, owned
 * as `--chown` says (root by default), with a fixed mtime, so the same inputs always give the
 * same diff ID. ADD's archives are streamed into the layer after the files, entry by entry,
 * under their destination (add-source.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ArchiveCompression } from '../archive/compression.js';
import type { Digest } from '../oci/digest.js';
import type { TarEntry } from '../archive/tar-header.js';
import { writeTar } from '../archive/tar-writer.js';
import type { Store } from '../store/store.js';
import { InvalidArgument } from '../util/errors.js';
import type { LayEntry } from '../archive/lay-entries.js';
import { archiveEntries } from './add-source.js';
import type { ParentView } from './parent-view.js';

export type CopyEntry =
  | {
      /** Absolute path on this host (inside the build context or another stage's rootfs). */
      source: string;
      /** Absolute path in the image. */
      dest: string;
      /** Replace the source's mode and mtime (a downloaded file: 0600, Last-Modified). */
      mode?: number;
      mtime?: number;
      /** Keep the source's owner (`COPY --from`) unless `--chown` gives one. */
      keepOwner?: boolean;
      /** When `dest` is a directory in the image, the file goes in it under this name. */
      orInto?: string;
    }
  | {
      /** A directory to make (WORKDIR), with its missing parents. */
      mkdir: true;
      dest: string;
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
  /** The parent image, which destinations are resolved in; none for scratch. */
  view?: ParentView;
  signal?: AbortSignal;
}

export async function copyLayer(
  store: Store,
  plan: CopyEntry[],
  options: CopyLayerOptions = {},
): Promise<{ diffId: Digest; size: number }> {
  const entries = tarEntries(plan, options);
  // Archives may hold anything a tar can (devices, odd orders): those go through a real tar
  // and the layer unpacker; plain copies are laid into place directly.
  const direct = !plan.some((p) => 'archive' in p);
  return store.locked('shared', async () => {
    const layer = direct
      ? await store.layers.create(entries, { signal: options.signal })
      : await store.layers.unpack(writeTar(entries, { signal: options.signal }), { signal: options.signal });
    store.meta.addLayer(layer);
    return { diffId: layer.diffId, size: layer.size };
  });
}

/**
 * The entries in tar order (each directory before what is in it), bodies read lazily; then
 * each archive's entries in the archive's own order.
 */
async function* tarEntries(plan: CopyEntry[], o: CopyLayerOptions): AsyncGenerator<LayEntry> {
  const byName = new Map<string, { entry: TarEntry; source?: string }>();
  const owner = o.chown ?? { uid: 0, gid: 0 };
  const view = o.view;
  const parents = (name: string): void => {
    for (let dir = path.posix.dirname(name); dir !== '.'; dir = path.posix.dirname(dir)) {
      if (!byName.has(dir)) byName.set(dir, { entry: existingDir(dir, view, owner) });
    }
  };
  /** Where `dest` is in the image: its directories' symlinks followed; itself too if `full`. */
  const dirs = new Map<string, string>();
  const resolved = (dest: string, full: boolean): string => {
    if (view === undefined) return dest;
    if (full) return view.resolve(dest);
    const dir = path.posix.dirname(dest);
    let real = dirs.get(dir);
    if (real === undefined) dirs.set(dir, (real = view.resolve(dir)));
    return path.posix.join(real, path.posix.basename(dest));
  };
  const archives: Extract<CopyEntry, { archive: string }>[] = [];
  for (const item of plan) {
    if (!path.posix.isAbsolute(item.dest))
      throw new InvalidArgument(`copy to \`${item.dest}\`: not an absolute path`);
    if ('archive' in item) {
      const dest = resolved(item.dest, true);
      archives.push({ ...item, dest });
      if (dest !== '/') parents(`${dest.slice(1)}/.`);
      continue;
    }
    if ('mkdir' in item) {
      const name = resolved(item.dest, true).slice(1);
      if (name !== '' && view?.lstat(`/${name}`) === undefined) {
        byName.set(name, {
          entry: { name: `${name}/`, type: 'dir', mode: 0o755, ...owner, mtime: 0, size: 0 },
        });
        parents(name);
      }
      continue;
    }
    const { source } = item;
    const st = fs.lstatSync(source);
    let dest = resolved(item.dest, st.isDirectory());
    if (item.orInto !== undefined && view?.isDir(dest))
      dest = path.posix.join(view.resolve(dest), item.orInto);
    const name = dest.slice(1);
    if (name === '') continue; // the root itself has no entry
    // --chmod sets the copied files' mode; a directory keeps its own unless the plan gives one
    // (copy-step gives the directories inside a copied tree the --chmod mode).
    const mode = item.mode ?? (o.chmod !== undefined && !st.isDirectory() ? o.chmod : st.mode & 0o7777);
    const mtime = item.mtime ?? Math.floor(st.mtimeMs / 1000);
    const who = item.keepOwner && o.chown === undefined ? { uid: st.uid, gid: st.gid } : owner;
    const base = { name, uid: who.uid, gid: who.gid, mtime, size: 0 };
    if (st.isDirectory()) byName.set(name, { entry: { ...base, name: `${name}/`, type: 'dir', mode } });
    else if (st.isSymbolicLink()) {
      byName.set(name, {
        entry: { ...base, type: 'symlink', mode: 0o777, linkname: fs.readlinkSync(source) },
      });
    } else if (st.isFile()) {
      byName.set(name, { entry: { ...base, type: 'file', mode, size: st.size }, source });
    } else {
      throw new InvalidArgument(
        `copy \`${path.basename(source)}\` to \`/${name}\`: not a file, directory or symlink`,
      );
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
    yield source === undefined ? { entry } : { entry, body: readLazily(source), source };
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
 * A parent directory's entry: as the image has it when it is a directory there, else a new
 * 0755 one owned by `owner`.
 */
function existingDir(
  dir: string,
  view: ParentView | undefined,
  owner: { uid: number; gid: number },
): TarEntry {
  const st = view?.lstat(`/${dir}`);
  if (st?.isDirectory()) {
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
  return { name: `${dir}/`, type: 'dir', mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: 0, size: 0 };
}

/** The file's bytes, opened only when read (a big file may be copied by the kernel instead). */
async function* readLazily(source: string): AsyncGenerator<Buffer> {
  yield* fs.createReadStream(source, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
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
