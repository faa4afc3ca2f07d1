/**
 * Size limits of `registry serve` (both off unless given): the bytes of one uploaded blob
 * (`--max-upload-size`), and the bytes of the blobs one repository links (`--repo-quota`;
 * a blob shared with another repository counts in each, manifests are not counted).
 *
 * An upload is refused as soon as its bytes pass either limit — its session is dropped, since
 * it could never finish — so a client cannot fill the disk before the final PUT. That early
 * check is against the repository's usage when the request began (a session does not know its
 * digest yet, so it counts even a blob the repository has; clients ask before they upload
 * those); the exact one is made when a blob is linked, under an flock on the repository's
 * `_quota.lock`, so concurrent pushes to one repository (in any worker) cannot together pass
 * the quota.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Digest } from '../../oci/digest.js';
import { lock } from '../../sys/flock.js';
import { formatByteSize } from '../../util/byte-size.js';
import { RegistryError } from './errors.js';
import { listDir, type RegistryStorage } from './storage.js';

export interface QuotaOptions {
  /** Most bytes of one blob upload. */
  maxUploadBytes?: number;
  /** Most bytes of blobs linked to one repository. */
  repoQuotaBytes?: number;
}

/** A refusal of these limits: the session that hit it is dropped. */
export class OverQuota extends RegistryError {}

export class Quotas {
  constructor(
    private readonly storage: RegistryStorage,
    private readonly options: QuotaOptions = {},
  ) {}

  get enabled(): boolean {
    return this.options.maxUploadBytes !== undefined || this.options.repoQuotaBytes !== undefined;
  }

  /**
   * A check for an upload into `name` to call with its running size (from the start of the
   * blob, earlier chunks included). Cheap: the repository's usage is read once, here. A blob
   * the repository links already (`digest`, when the upload names it up front) adds nothing.
   */
  uploadCheck(name: string, digest?: Digest): (bytes: number) => void {
    const { maxUploadBytes, repoQuotaBytes } = this.options;
    const adds = digest === undefined || this.storage.blobSize(name, digest) === undefined;
    const used = repoQuotaBytes === undefined || !adds ? 0 : this.usage(name);
    return (bytes) => {
      if (maxUploadBytes !== undefined && bytes > maxUploadBytes)
        throw new OverQuota(
          413,
          'SIZE_INVALID',
          `upload blob to \`${name}\`: over ${formatByteSize(maxUploadBytes)}, the most one blob may have here`,
          { detail: { limit: maxUploadBytes } },
        );
      if (repoQuotaBytes !== undefined && adds && used + bytes > repoQuotaBytes) throw this.overQuota(name);
    };
  }

  /**
   * Runs `link` (which links `digest`, of `size` bytes, into `name`) when the repository's
   * quota has room for it; a blob the repository links already costs nothing.
   */
  async link<T>(name: string, digest: Digest, size: number, link: () => Promise<T>): Promise<T> {
    const quota = this.options.repoQuotaBytes;
    if (quota === undefined) return link();
    const dir = this.storage.repoDir(name);
    fs.mkdirSync(dir, { recursive: true });
    const held = await lock(path.join(dir, '_quota.lock'), 'exclusive');
    try {
      if (this.storage.blobSize(name, digest) === undefined && this.usage(name) + size > quota)
        throw this.overQuota(name);
      return await link();
    } finally {
      held.release();
    }
  }

  /** Bytes of the blobs `name` links now. */
  usage(name: string): number {
    let total = 0;
    const blobs = path.join(this.storage.repoDir(name), '_blobs');
    for (const algorithm of listDir(blobs))
      for (const hex of listDir(path.join(blobs, algorithm)))
        if (!hex.startsWith('.tmp-')) total += this.storage.blobSize(name, `${algorithm}:${hex}`) ?? 0;
    return total;
  }

  private overQuota(name: string): OverQuota {
    const quota = this.options.repoQuotaBytes!;
    return new OverQuota(
      413,
      'DENIED',
      `push to \`${name}\`: the repository would hold over ${formatByteSize(quota)}, its quota`,
      { detail: { quota } },
    );
  }
}
