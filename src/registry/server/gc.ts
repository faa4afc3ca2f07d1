/**
 * Online garbage collection: no read-only window, the server keeps serving the same root.
 *
 * Mark: every manifest linked in any repository (tagged or not: an untagged manifest is still
 * pullable by digest) is read and followed to its config, layers, child manifests and
 * subject. Sweep: a blob that was not marked is removed only if its mtime is older than
 * `cutoff = gc start − grace`. The server sets a blob's mtime to "now" whenever it commits
 * it (a finished upload, a blob that already existed, a mount) and whenever a manifest push
 * checks the blobs it references (storage.ts `commitBlob`), and does so under a *shared*
 * flock on gc.lock. gc re-reads the mtime and unlinks under the *exclusive* lock, one blob
 * at a time, so:
 *  - a blob written, reused or referenced after gc started has mtime ≥ cutoff and stays;
 *  - a push that touches a blob gc already removed sees ENOENT and reports the blob unknown
 *    (the client uploads it again) instead of linking a manifest to nothing.
 * The lock is held for one stat+unlink, never across the mark, so pushes barely wait.
 * The grace period must exceed the longest push (a manifest is linked after its blobs were
 * checked): one hour by default; `--grace 0` is for a registry nobody is pushing to.
 *
 * Also removed: upload sessions idle for longer than the grace period (never one in the middle
 * of a request: the server holds its state file's flock shared meanwhile), temp files older
 * than it, repository links to blobs that are gone, and referrer entries of deleted manifests.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Digest } from '../../oci/digest.js';
import { MAX_METADATA_BYTES } from '../../oci/limits.js';
import { parseManifestOrIndex } from '../../oci/manifest.js';
import { lock, tryLock } from '../../sys/flock.js';
import { FailedPrecondition, NotFound } from '../../util/errors.js';
import { RegistryStorage, listDir } from './storage.js';
import { sweepUploads } from './upload-sessions.js';

export interface GcOptions {
  graceMs?: number;
  dryRun?: boolean;
}

export interface GcReport {
  manifests: number;
  marked: number;
  deletedBlobs: Digest[];
  freedBytes: number;
  keptRecent: number;
  removedUploads: number;
  removedTemp: number;
  removedLinks: number;
}

export const DEFAULT_GRACE_MS = 3_600_000;

function mark(storage: RegistryStorage): { marked: Set<Digest>; manifests: number } {
  const marked = new Set<Digest>();
  let manifests = 0;
  for (const name of storage.repositories()) {
    for (const digest of storage.manifests(name)) {
      manifests++;
      marked.add(digest);
      let bytes: Buffer;
      try {
        bytes = storage.content.readBytes(digest, MAX_METADATA_BYTES);
      } catch (err) {
        if (err instanceof NotFound) continue;
        throw err;
      }
      let doc: ReturnType<typeof parseManifestOrIndex>;
      try {
        doc = parseManifestOrIndex(bytes, storage.manifestType(name, digest));
      } catch (err) {
        // Sweeping without knowing what this manifest holds could delete its layers.
        throw new FailedPrecondition(
          `gc \`${storage.paths.root}\`: manifest \`${name}@${digest}\` is unreadable, nothing deleted`,
          {
            cause: err,
          },
        );
      }
      const m = doc.kind === 'manifest' ? doc.manifest : doc.index;
      if (doc.kind === 'manifest') {
        marked.add(doc.manifest.config.digest);
        for (const l of doc.manifest.layers) marked.add(l.digest);
      } else {
        for (const child of doc.index.manifests) marked.add(child.digest);
      }
      if (m.subject !== undefined) marked.add(m.subject.digest);
    }
  }
  return { marked, manifests };
}

export async function collectGarbage(root: string, options: GcOptions = {}): Promise<GcReport> {
  const storage = new RegistryStorage(root);
  const running = tryLock(path.join(storage.paths.root, 'gc.run'), 'exclusive');
  if (running === undefined)
    throw new FailedPrecondition(`gc \`${storage.paths.root}\`: another gc is running`);
  try {
    const started = Date.now();
    const grace = options.graceMs ?? DEFAULT_GRACE_MS;
    const cutoff = started - grace;
    const dryRun = options.dryRun === true;
    const { marked, manifests } = mark(storage);
    const report: GcReport = {
      manifests,
      marked: marked.size,
      deletedBlobs: [],
      freedBytes: 0,
      keptRecent: 0,
      removedUploads: 0,
      removedTemp: 0,
      removedLinks: 0,
    };
    for (const digest of storage.content.list()) {
      if (digest.includes('.tmp-') || marked.has(digest)) continue;
      const file = storage.content.path(digest);
      const before = fs.statSync(file, { throwIfNoEntry: false });
      if (before === undefined) continue;
      if (before.mtimeMs >= cutoff) {
        report.keptRecent++;
        continue;
      }
      if (dryRun) {
        report.deletedBlobs.push(digest);
        report.freedBytes += before.size;
        continue;
      }
      const held = await lock(storage.paths.gcLock, 'exclusive');
      try {
        const now = fs.statSync(file, { throwIfNoEntry: false });
        if (now === undefined || now.mtimeMs >= cutoff) continue;
        fs.unlinkSync(file);
        report.deletedBlobs.push(digest);
        report.freedBytes += now.size;
      } finally {
        held.release();
      }
    }
    report.removedLinks = await sweepLinks(storage, dryRun);
    report.removedUploads = sweepUploads(storage.paths.uploads, cutoff, () => true, dryRun);
    report.removedTemp = sweepTemp(storage, cutoff, dryRun);
    return report;
  } finally {
    running.release();
  }
}

/**
 * Repository links whose blob is gone, and referrer entries whose manifest is no longer linked.
 * A link is re-checked and removed under the exclusive lock: a push that re-creates the blob
 * links it under the shared one, so its fresh link is never taken for a dangling one.
 */
async function sweepLinks(storage: RegistryStorage, dryRun: boolean): Promise<number> {
  let removed = 0;
  for (const name of storage.repositories()) {
    const blobs = path.join(storage.repoDir(name), '_blobs');
    for (const alg of listDir(blobs)) {
      for (const hex of listDir(path.join(blobs, alg))) {
        const blob = path.join(storage.paths.blobs, alg, hex);
        if (hex.startsWith('.tmp-') || fs.existsSync(blob)) continue;
        removed++;
        if (dryRun) continue;
        const held = await lock(storage.paths.gcLock, 'exclusive');
        try {
          if (!fs.existsSync(blob)) fs.rmSync(path.join(blobs, alg, hex), { force: true });
        } finally {
          held.release();
        }
      }
    }
    const referrers = path.join(storage.repoDir(name), '_referrers');
    for (const alg of listDir(referrers)) {
      for (const subject of listDir(path.join(referrers, alg))) {
        for (const file of listDir(path.join(referrers, alg, subject))) {
          const digest = file.replace('-', ':');
          if (file.startsWith('.tmp-') || storage.manifestType(name, digest) !== undefined) continue;
          if (!dryRun) fs.rmSync(path.join(referrers, alg, subject, file), { force: true });
          removed++;
        }
      }
    }
  }
  return removed;
}

/**
 * Temp files older than the cutoff: ingests in tmp/, and the `.tmp-` names of atomic writes
 * that a crash left beside repository links.
 */
function sweepTemp(storage: RegistryStorage, cutoff: number, dryRun: boolean): number {
  let removed = 0;
  const remove = (file: string) => {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st === undefined || st.mtimeMs >= cutoff) return;
    if (!dryRun) fs.rmSync(file, { recursive: true, force: true });
    removed++;
  };
  for (const name of listDir(storage.paths.tmp)) remove(path.join(storage.paths.tmp, name));
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.name.startsWith('.tmp-')) remove(full);
      else if (entry.isDirectory()) visit(full);
    }
  };
  visit(storage.paths.repositories);
  return removed;
}
