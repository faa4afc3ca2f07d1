/**
 * The registry's files under its root. Blobs are content-addressed and shared by every
 * repository; a repository only holds links to them:
 *
 *   blobs/<alg>/<hex>                               the bytes (manifests too)
 *   repositories/<name>/_blobs/<alg>/<hex>          empty: the repository has this blob
 *   repositories/<name>/_manifests/<alg>/<hex>      the manifest's media type
 *   repositories/<name>/_tags/<tag>                 the digest the tag points to
 *   repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>   a referrer's descriptor (JSON)
 *   uploads/<uuid>/                                 upload sessions (upload-sessions.ts)
 *   tmp/                                            temp files; garbage after a crash
 *   gc.lock                                         flock shared with gc (gc.ts)
 *
 * Every write is temp → fsync → rename, so a reader sees a whole file or none. A name's
 * components start with [a-z0-9] (names.ts), so they never collide with the `_` directories.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDigest, type Digest } from '../../oci/digest.js';
import { ContentStore } from '../../store/content-store.js';
import { lock } from '../../sys/flock.js';
import { fsyncDir, writeFileAtomic } from '../../util/atomic.js';
import { errnoCode } from '../../util/errors.js';
import type { Descriptor } from '../../oci/descriptor.js';

export interface RegistryPaths {
  root: string;
  blobs: string;
  repositories: string;
  uploads: string;
  tmp: string;
  gcLock: string;
}

export function registryPaths(root: string): RegistryPaths {
  const abs = path.resolve(root);
  return {
    root: abs,
    blobs: path.join(abs, 'blobs'),
    repositories: path.join(abs, 'repositories'),
    uploads: path.join(abs, 'uploads'),
    tmp: path.join(abs, 'tmp'),
    gcLock: path.join(abs, 'gc.lock'),
  };
}

function digestPath(digest: Digest): string {
  const { algorithm, hex } = parseDigest(digest);
  return path.join(algorithm, hex);
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

function exists(file: string): boolean {
  try {
    fs.statSync(file);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
}

function removeFile(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
}

function writeLink(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, content);
}

export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
}

export class RegistryStorage {
  readonly paths: RegistryPaths;
  readonly content: ContentStore;

  constructor(root: string) {
    this.paths = registryPaths(root);
    const p = this.paths;
    for (const dir of [p.root, p.blobs, p.repositories, p.uploads, p.tmp])
      fs.mkdirSync(dir, { recursive: true });
    for (const alg of ['sha256', 'sha512']) fs.mkdirSync(path.join(p.blobs, alg), { recursive: true });
    this.content = new ContentStore({ blobs: p.blobs, tmp: p.tmp });
  }

  repoDir(name: string): string {
    return path.join(this.paths.repositories, name);
  }

  repoExists(name: string): boolean {
    return (
      exists(path.join(this.repoDir(name), '_blobs')) || exists(path.join(this.repoDir(name), '_manifests'))
    );
  }

  // --- blobs ------------------------------------------------------------------------------

  /** The blob's size when `name` links it and its bytes are present. */
  blobSize(name: string, digest: Digest): number | undefined {
    if (!exists(path.join(this.repoDir(name), '_blobs', digestPath(digest)))) return undefined;
    try {
      return fs.statSync(this.content.path(digest)).size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  linkBlob(name: string, digest: Digest): void {
    writeLink(path.join(this.repoDir(name), '_blobs', digestPath(digest)), '');
  }

  unlinkBlob(name: string, digest: Digest): boolean {
    return removeFile(path.join(this.repoDir(name), '_blobs', digestPath(digest)));
  }

  /**
   * Makes `digest` present and fresh: moves `file` into place when the blob is new, else drops
   * `file` and touches the stored one; then links it to `linkTo` when given. Runs under the
   * shared gc lock, and the mtime it sets is what gc's final check reads: a blob committed or
   * reused after gc started is never swept, and gc cannot drop the new link as dangling.
   * Returns false when `file` is undefined and the blob is absent.
   */
  async commitBlob(digest: Digest, options: { file?: string; linkTo?: string } = {}): Promise<boolean> {
    const { file, linkTo } = options;
    const held = await lock(this.paths.gcLock, 'shared');
    try {
      const final = this.content.path(digest);
      const now = new Date();
      let present = true;
      try {
        fs.utimesSync(final, now, now);
        if (file !== undefined) fs.rmSync(file, { force: true });
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
        present = false;
      }
      if (!present) {
        if (file === undefined) return false;
        fs.utimesSync(file, now, now);
        fs.renameSync(file, final);
        fsyncDir(path.dirname(final));
      }
      if (linkTo !== undefined) this.linkBlob(linkTo, digest);
      return true;
    } finally {
      held.release();
    }
  }

  // --- manifests and tags -------------------------------------------------------------------

  /** The media type recorded when `name` got this manifest; undefined when it has not. */
  manifestType(name: string, digest: Digest): string | undefined {
    return readText(path.join(this.repoDir(name), '_manifests', digestPath(digest)));
  }

  linkManifest(name: string, digest: Digest, mediaType: string): void {
    writeLink(path.join(this.repoDir(name), '_manifests', digestPath(digest)), mediaType);
  }

  unlinkManifest(name: string, digest: Digest): boolean {
    return removeFile(path.join(this.repoDir(name), '_manifests', digestPath(digest)));
  }

  /** Every manifest digest `name` holds. */
  manifests(name: string): Digest[] {
    const out: Digest[] = [];
    for (const alg of listDir(path.join(this.repoDir(name), '_manifests')))
      for (const hex of listDir(path.join(this.repoDir(name), '_manifests', alg)))
        if (!hex.startsWith('.tmp-')) out.push(`${alg}:${hex}`);
    return out;
  }

  resolveTag(name: string, tag: string): Digest | undefined {
    return readText(path.join(this.repoDir(name), '_tags', tag))?.trim();
  }

  setTag(name: string, tag: string, digest: Digest): void {
    writeLink(path.join(this.repoDir(name), '_tags', tag), digest);
  }

  deleteTag(name: string, tag: string): boolean {
    return removeFile(path.join(this.repoDir(name), '_tags', tag));
  }

  tags(name: string): string[] {
    return listDir(path.join(this.repoDir(name), '_tags'))
      .filter((t) => !t.startsWith('.tmp-'))
      .sort();
  }

  // --- referrers (distribution-spec "Listing Referrers") -----------------------------------

  private referrerDir(name: string, subject: Digest): string {
    return path.join(this.repoDir(name), '_referrers', digestPath(subject));
  }

  addReferrer(name: string, subject: Digest, descriptor: Descriptor): void {
    const file = descriptor.digest.replace(':', '-');
    writeLink(path.join(this.referrerDir(name, subject), file), JSON.stringify(descriptor));
  }

  removeReferrer(name: string, subject: Digest, referrer: Digest): void {
    removeFile(path.join(this.referrerDir(name, subject), referrer.replace(':', '-')));
  }

  referrers(name: string, subject: Digest): Descriptor[] {
    const dir = this.referrerDir(name, subject);
    const out: Descriptor[] = [];
    for (const file of listDir(dir).sort()) {
      if (file.startsWith('.tmp-')) continue;
      const text = readText(path.join(dir, file));
      if (text === undefined) continue;
      const descriptor = JSON.parse(text) as Descriptor;
      if (this.manifestType(name, descriptor.digest) !== undefined) out.push(descriptor);
    }
    return out;
  }

  // --- catalog -------------------------------------------------------------------------------

  /** Every repository name, sorted. */
  repositories(): string[] {
    const out: string[] = [];
    const visit = (rel: string) => {
      const entries = listDir(path.join(this.paths.repositories, rel));
      if (rel !== '' && (entries.includes('_manifests') || entries.includes('_blobs'))) out.push(rel);
      for (const entry of entries)
        if (!entry.startsWith('_') && !entry.startsWith('.')) visit(rel === '' ? entry : `${rel}/${entry}`);
    };
    visit('');
    return out.sort();
  }
}
