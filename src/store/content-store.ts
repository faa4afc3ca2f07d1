/**
 * The content store: every blob at blobs/<alg>/<hex>, written by streaming into a temp file
 * in tmp/ while hashing, fsynced, and renamed into place only when size and digest match
 * (containerd's ingest). A blob that is present is complete; a temp file is garbage.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createDigester, parseDigest, type Algorithm, type Digest } from '../oci/digest.js';
import { MAX_METADATA_BYTES } from '../oci/limits.js';
import { DataLoss, NotFound, errnoCode } from '../util/errors.js';
import { fsyncDir, tempName } from '../util/atomic.js';
import type { StorePaths } from './paths.js';

const CHUNK = 1 << 20;

export interface Expected {
  digest?: Digest;
  size?: number;
}

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export class ContentStore {
  /** Only `blobs/` and `tmp/`: the registry server keeps its blobs in this same shape. */
  constructor(private readonly paths: Pick<StorePaths, 'blobs' | 'tmp'>) {}

  path(digest: Digest): string {
    const { algorithm, hex } = parseDigest(digest);
    return path.join(this.paths.blobs, algorithm, hex);
  }

  has(digest: Digest): boolean {
    return fs.existsSync(this.path(digest));
  }

  size(digest: Digest): number {
    try {
      return fs.statSync(this.path(digest)).size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new NotFound(`read blob \`${digest}\`: not in the store`);
      throw err;
    }
  }

  /**
   * Reads a small blob (a manifest, an index, a config) whole. The default limit is the one
   * pull, load and commit accept (oci/limits.ts), so what the store took it also reads back.
   */
  readBytes(digest: Digest, limit = MAX_METADATA_BYTES): Buffer {
    const file = this.path(digest);
    let data: Buffer;
    try {
      const size = fs.statSync(file).size;
      if (size > limit)
        throw new DataLoss(`read blob \`${digest}\`: ${size} bytes is over the ${limit} limit`);
      data = fs.readFileSync(file);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new NotFound(`read blob \`${digest}\`: not in the store`);
      throw err;
    }
    return data;
  }

  /** Streams a blob in 1 MiB reads (1 MiB reads hash and send twice as fast as 64 KiB). */
  open(digest: Digest, options: { start?: number; signal?: AbortSignal } = {}): fs.ReadStream {
    if (!this.has(digest)) throw new NotFound(`read blob \`${digest}\`: not in the store`);
    return fs.createReadStream(this.path(digest), {
      highWaterMark: CHUNK,
      start: options.start,
      signal: options.signal,
    });
  }

  /** Stores bytes held in memory; the digest is computed here. */
  async writeBytes(data: Buffer, expected: Expected = {}): Promise<BlobInfo> {
    return this.ingest([data], expected);
  }

  /**
   * Streams `source` into the store. With `expected`, a mismatch of size or digest throws
   * DataLoss and nothing is stored. Returns the digest it was stored under.
   */
  async ingest(
    source: AsyncIterable<Buffer> | Iterable<Buffer>,
    expected: Expected = {},
    options: { signal?: AbortSignal } = {},
  ): Promise<BlobInfo> {
    const algorithm: Algorithm = expected.digest ? parseDigest(expected.digest).algorithm : 'sha256';
    const digester = createDigester(algorithm);
    const tmp = tempName(this.paths.tmp, 'blob-');
    const fd = fs.openSync(tmp, 'wx', 0o644);
    let closed = false;
    try {
      for await (const chunk of source) {
        options.signal?.throwIfAborted();
        digester.update(chunk);
        if (expected.size !== undefined && digester.bytes > expected.size) {
          throw new DataLoss(
            `store blob \`${expected.digest ?? 'unknown'}\`: more than the expected ${expected.size} bytes`,
          );
        }
        writeAll(fd, chunk);
      }
      const digest = digester.digest();
      const size = digester.bytes;
      if (expected.size !== undefined && size !== expected.size) {
        throw new DataLoss(
          `store blob \`${expected.digest ?? digest}\`: got ${size} bytes, expected ${expected.size}`,
        );
      }
      if (expected.digest !== undefined && digest !== expected.digest) {
        throw new DataLoss(`store blob \`${expected.digest}\`: content has digest ${digest}`);
      }
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      closed = true;
      const final = this.path(digest);
      fs.renameSync(tmp, final);
      fsyncDir(path.dirname(final));
      return { digest, size };
    } finally {
      if (!closed) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
    }
  }

  /**
   * Moves a verified blob file (from a staging store on the same filesystem) into place.
   * The caller has checked its digest while writing it.
   */
  adopt(file: string, digest: Digest): void {
    const final = this.path(digest);
    fs.renameSync(file, final);
    fsyncDir(path.dirname(final));
  }

  delete(digest: Digest): number {
    const file = this.path(digest);
    try {
      const size = fs.statSync(file).size;
      fs.unlinkSync(file);
      return size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return 0;
      throw err;
    }
  }

  /** Every blob on disk, as digests. */
  *list(): Generator<Digest> {
    for (const algorithm of ['sha256', 'sha512'] as const) {
      let names: string[];
      try {
        names = fs.readdirSync(path.join(this.paths.blobs, algorithm));
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue;
        throw err;
      }
      for (const name of names) yield `${algorithm}:${name}`;
    }
  }

  /** Re-hashes a blob; the digest it really has. */
  async rehash(digest: Digest): Promise<Digest> {
    const digester = createDigester(parseDigest(digest).algorithm);
    for await (const chunk of this.open(digest)) digester.update(chunk as Buffer);
    return digester.digest();
  }
}

function writeAll(fd: number, chunk: Buffer): void {
  let offset = 0;
  while (offset < chunk.length) offset += fs.writeSync(fd, chunk, offset);
}
