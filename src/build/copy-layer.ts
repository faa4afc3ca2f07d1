/**
 * A COPY/ADD step's layer, written straight from the context as a tar — no container needed.
 * Files keep their content, mode and mtime; symlinks stay symlinks; owners are 0:0 unless
 * `--chown` says otherwise, and `--chmod` replaces the mode of what is copied (Dockerfile
 * reference, "COPY --chown --chmod"). Parent directories the destination needs and the plan
 * does not name are made root-owned 0755 with a fixed mtime, so the same inputs always give
 * the same diff ID.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Digest } from '../oci/digest.js';
import type { TarEntry } from '../archive/tar-header.js';
import { writeTar, type WriteEntry } from '../archive/tar-writer.js';
import type { Store } from '../store/store.js';
import { InvalidArgument } from '../util/errors.js';

export interface CopyEntry {
  /** Absolute path on this host (inside the build context or another stage's rootfs). */
  source: string;
  /** Absolute path in the image. */
  dest: string;
}

export interface CopyLayerOptions {
  chown?: { uid: number; gid: number };
  /** Permission bits for every copied file (`--chmod=755`); directories keep theirs. */
  chmod?: number;
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

/** The entries in tar order (each directory before what is in it), bodies read lazily. */
function* tarEntries(plan: CopyEntry[], o: CopyLayerOptions): Generator<WriteEntry> {
  const byName = new Map<string, { entry: TarEntry; source?: string }>();
  const owner = o.chown ?? { uid: 0, gid: 0 };
  for (const { source, dest } of plan) {
    if (!path.posix.isAbsolute(dest)) throw new InvalidArgument(`copy to \`${dest}\`: not an absolute path`);
    const name = path.posix.normalize(dest).slice(1);
    if (name === '') continue; // the root itself has no entry
    const st = fs.lstatSync(source);
    // --chmod sets the copied files' mode; directories keep theirs (as buildah does).
    const mode = o.chmod !== undefined && !st.isDirectory() ? o.chmod : st.mode & 0o7777;
    const base = { name, uid: owner.uid, gid: owner.gid, mtime: Math.floor(st.mtimeMs / 1000), size: 0 };
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
    for (let dir = path.posix.dirname(name); dir !== '.'; dir = path.posix.dirname(dir)) {
      if (!byName.has(dir)) {
        byName.set(dir, {
          entry: { name: `${dir}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 },
        });
      }
    }
  }
  for (const name of [...byName.keys()].sort(byPath)) {
    const { entry, source } = byName.get(name)!;
    yield {
      entry,
      body: source === undefined ? undefined : fs.createReadStream(source, { highWaterMark: 1 << 20 }),
    };
  }
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
