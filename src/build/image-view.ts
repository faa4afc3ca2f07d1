/**
 * The parent image's filesystem as a step that writes into it sees it: its layers mounted
 * read-only (an overlay under the store's tmp/) while the step is made. COPY asks it whether a
 * destination is an existing directory (`COPY a.txt /etc` writes /etc/a.txt) and where a
 * symlinked path really leads (`/web -> /var/www`); both COPY and WORKDIR take the owner and
 * mode of the directories they pass through from it, and look `--chown` and USER names up in
 * its /etc/passwd. Paths are resolved inside the image's root, never on the host.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Digest } from '../oci/digest.js';
import { readImage, resolveImage } from '../image/image.js';
import { mountRootfs, unmountRootfs } from '../runtime/rootfs.js';
import { resolveUser } from '../runtime/user.js';
import type { Store } from '../store/store.js';
import { FailedPrecondition } from '../util/errors.js';

/** Symlink hops before a path is declared a loop, as Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;

export class ImageView {
  private constructor(
    /** The mounted root; undefined for scratch, which has nothing. */
    readonly root: string | undefined,
    private readonly dir: string | undefined,
  ) {}

  /** Mounts the image under the store's tmp/ (a directory named `prefix…`). */
  static open(store: Store, image: Digest | undefined, prefix = 'view-'): ImageView {
    if (image === undefined) return new ImageView(undefined, undefined);
    const dir = fs.mkdtempSync(path.join(store.paths.tmp, prefix));
    try {
      const diffIds = readImage(store, resolveImage(store, image)).config.rootfs.diff_ids;
      return new ImageView(mountRootfs(store, dir, diffIds), dir);
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Runs `fn` over the image's view, which is unmounted after. */
  static with<T>(
    store: Store,
    image: Digest | undefined,
    fn: (view: ImageView) => Promise<T> | T,
  ): Promise<T> {
    const view = ImageView.open(store, image);
    return (async () => {
      try {
        return await fn(view);
      } finally {
        view.close();
      }
    })();
  }

  /**
   * The absolute path `p` leads to in the image: every symlink on the way followed, with the
   * image's root as `/`. The part that does not exist yet is kept as written.
   */
  resolve(p: string): string {
    const parts = path.posix.normalize(`/${p}`).split('/').filter(Boolean);
    let current = '/';
    for (let hops = 0; parts.length > 0; ) {
      const name = parts.shift()!;
      const candidate = path.posix.join(current, name);
      const st = this.lstat(candidate);
      if (st === undefined) return path.posix.join(candidate, ...parts);
      if (st.isSymbolicLink()) {
        if (++hops > MAX_LINKS)
          throw new FailedPrecondition(`resolve \`${p}\` in the image: too many levels of symbolic links`);
        const target = fs.readlinkSync(this.host(candidate));
        const next = path.posix.normalize(target.startsWith('/') ? target : path.posix.join(current, target));
        parts.unshift(...next.split('/').filter(Boolean));
        current = '/';
        continue;
      }
      current = candidate;
    }
    return current;
  }

  /** lstat of an absolute path in the image, undefined when it is not there. */
  lstat(p: string): fs.Stats | undefined {
    if (this.root === undefined) return p === '/' ? fs.lstatSync('/') : undefined;
    return fs.lstatSync(this.host(p), { throwIfNoEntry: false });
  }

  isDir(p: string): boolean {
    return this.lstat(this.resolve(p))?.isDirectory() === true;
  }

  /** `name[:group]` or ids, as the image's /etc/passwd and /etc/group say. */
  owner(spec: string): { uid: number; gid: number } {
    if (this.root === undefined) {
      const m = /^(\d+)(?::(\d+))?$/.exec(spec);
      if (m) return { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
      throw new FailedPrecondition(`\`${spec}\`: scratch has no /etc/passwd; give numeric ids`);
    }
    const { uid, gid } = resolveUser(this.root, spec);
    return { uid, gid };
  }

  close(): void {
    if (this.dir === undefined) return;
    unmountRootfs(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private host(p: string): string {
    return path.join(this.root!, p);
  }
}
