/**
 * The layer store: each layer unpacked once into layers/<hex>/diff in overlayfs form (ready
 * to be an overlay lowerdir), beside layers/<hex>/tar-split.gz, the record of its tar's
 * header bytes. Together they give back the exact layer tar, so its diff ID stays true
 * without keeping the tar itself. A layer is unpacked into tmp/ and renamed into place: a
 * directory in layers/ is always complete.
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyLayer } from '../archive/apply-layer.js';
import { layEntries, type LayEntry } from '../archive/lay-entries.js';
import { TarSplitWriter, reassembleTar } from '../archive/tar-split.js';
import { createDigester, parseDigest, type Digest, type Digester } from '../oci/digest.js';
import { syncfs } from '../sys/syncfs.js';
import { DataLoss, NotFound, SkiffError } from '../util/errors.js';
import { fsyncDir, tempName } from '../util/atomic.js';
import type { StorePaths } from './paths.js';

export interface UnpackedLayer {
  diffId: Digest;
  /** Bytes of the uncompressed tar. */
  size: number;
  entries: number;
  /** False when the layer was already in the store and this copy was dropped. */
  created: boolean;
}

export class LayerStore {
  constructor(private readonly paths: StorePaths) {}

  dir(diffId: Digest): string {
    const { algorithm, hex } = parseDigest(diffId);
    return path.join(this.paths.layers, algorithm === 'sha256' ? hex : `${algorithm}-${hex}`);
  }

  /** The layer's root, to be used as an overlay lowerdir. */
  diffDir(diffId: Digest): string {
    return path.join(this.dir(diffId), 'diff');
  }

  has(diffId: Digest): boolean {
    return fs.existsSync(path.join(this.dir(diffId), 'tar-split.gz'));
  }

  /**
   * Unpacks an uncompressed layer tar, hashing it as it passes to learn its diff ID.
   * With `expectDiffId`, a tar of another digest throws DataLoss and nothing is kept.
   */
  unpack(
    source: AsyncIterable<Buffer>,
    options: { expectDiffId?: Digest; signal?: AbortSignal } = {},
  ): Promise<UnpackedLayer> {
    return this.make(async (root, digester, split) => {
      const hashed = (async function* () {
        for await (const chunk of source) {
          digester.update(chunk);
          yield chunk;
        }
      })();
      const stats = await applyLayer(hashed, root, { recorder: split, signal: options.signal });
      // applyLayer stops at the end marker; whatever follows is part of the tar's bytes too.
      for await (const _ of hashed) void _;
      return stats.entries;
    }, options.expectDiffId);
  }

  /**
   * A layer from entries the project made itself (layEntries): written straight into place,
   * with the diff ID of the tar `writeTar` would make of them.
   */
  create(
    entries: Iterable<LayEntry> | AsyncIterable<LayEntry>,
    options: { signal?: AbortSignal } = {},
  ): Promise<UnpackedLayer> {
    return this.make(async (root, digester, split) => {
      const laid = await layEntries(entries, root, {
        onBytes: (bytes) => digester.update(bytes),
        recorder: split,
        signal: options.signal,
      });
      return laid.entries;
    });
  }

  /** Fills a new layer under tmp/, then publishes it under its diff ID (durably). */
  private async make(
    fill: (root: string, digester: Digester, split: TarSplitWriter) => Promise<number>,
    expectDiffId?: Digest,
  ): Promise<UnpackedLayer> {
    const tmp = tempName(this.paths.tmp, 'layer-');
    const root = path.join(tmp, 'diff');
    fs.mkdirSync(root, { recursive: true, mode: 0o755 });
    try {
      const digester = createDigester('sha256');
      const split = new TarSplitWriter(path.join(tmp, 'tar-split.gz'));
      let entries;
      try {
        entries = await fill(root, digester, split);
      } finally {
        await split.close();
      }
      const diffId = digester.digest();
      if (expectDiffId !== undefined && diffId !== expectDiffId) {
        throw new DataLoss(`unpack layer \`${expectDiffId}\`: content has diff ID ${diffId}`);
      }
      const size = digester.bytes;
      const final = this.dir(diffId);
      if (this.has(diffId)) return { diffId, size, entries, created: false };
      fs.rmSync(final, { recursive: true, force: true });
      // One syncfs makes the whole tree durable before the rename publishes it.
      syncfs(tmp);
      fs.renameSync(tmp, final);
      fsyncDir(this.paths.layers);
      return { diffId, size, entries, created: true };
    } finally {
      removeTree(tmp);
    }
  }

  /** The exact bytes of the layer's tar, rebuilt from its files and its tar-split record. */
  tar(diffId: Digest, options: { signal?: AbortSignal } = {}): AsyncIterable<Buffer> {
    if (!this.has(diffId)) throw new NotFound(`read layer \`${diffId}\`: not in the store`);
    return reassembleTar(path.join(this.dir(diffId), 'tar-split.gz'), this.diffDir(diffId), options);
  }

  /** Rebuilds the tar and checks its digest: the layer's files are what they were. */
  async verify(
    diffId: Digest,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ ok: boolean; problem?: string }> {
    const digester = createDigester(parseDigest(diffId).algorithm);
    try {
      for await (const chunk of this.tar(diffId, options)) digester.update(chunk);
    } catch (err) {
      if (err instanceof SkiffError) return { ok: false, problem: err.message };
      throw err;
    }
    const got = digester.digest();
    return got === diffId ? { ok: true } : { ok: false, problem: `files rebuild a tar with digest ${got}` };
  }

  delete(diffId: Digest): void {
    const dir = this.dir(diffId);
    if (!fs.existsSync(dir)) return;
    // Rename first so a crash mid-removal never leaves a half layer under its real name.
    const doomed = tempName(this.paths.tmp, 'dead-layer-');
    fs.renameSync(dir, doomed);
    removeTree(doomed);
  }

  /** Diff IDs of every complete layer directory. */
  *list(): Generator<Digest> {
    for (const name of fs.readdirSync(this.paths.layers)) {
      if (/^[0-9a-f]{64}$/.test(name)) yield `sha256:${name}`;
      else if (name.startsWith('sha512-')) yield `sha512:${name.slice(7)}`;
    }
  }
}

/** Removes a tree; trees of mode-0 dirs and immutable-looking files included (we are root). */
export function removeTree(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
}
