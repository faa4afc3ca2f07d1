/**
 * Limits on the uncompressed bytes that pull, load and import may unpack, so a registry or an
 * archive cannot fill the disk: one layer, one image, and how far a layer may expand beyond its
 * compressed size (a 3 MB gzip of zeros is 3 GiB of tar).
 *
 * The expansion rule: a compressed layer may always unpack to `expansionFloor` (1 GiB); beyond
 * that, to at most `maxExpansion` (100) times its compressed size. Real layers compress 2–10×;
 * only long runs of one byte (empty disk images, zero-filled files) go past 100×. A 3 MB gzip
 * of 3 GiB of zeros (1000×) is stopped once it passes 1 GiB. Uncompressed layers are not
 * checked: their bytes are what was sent.
 *
 * Each limit comes from, in order: the command (`--max-layer-size`…), the store's
 * settings.json, the default. Bytes are counted as they stream out of the decompressor, and
 * the stream stops at the first byte over a limit: a bomb costs its limit in disk, never more.
 */
import { formatByteSize } from '../util/byte-size.js';
import { InvalidArgument } from '../util/errors.js';
import { readSettings } from './settings.js';

export interface IngestLimits {
  /** Uncompressed bytes of one layer (its tar). */
  maxLayerSize: number;
  /** Uncompressed bytes of one image: all its layers, those the store had included. */
  maxImageSize: number;
  /** Uncompressed bytes per compressed byte of a layer, once past `expansionFloor`. */
  maxExpansion: number;
  /** Uncompressed bytes a compressed layer may reach whatever its compressed size. */
  expansionFloor: number;
}

const GiB = 2 ** 30;

/** Bigger than any image a user would make by accident, small enough to stop a runaway one. */
export const DEFAULT_INGEST_LIMITS: Readonly<IngestLimits> = {
  maxLayerSize: 64 * GiB,
  maxImageSize: 64 * GiB,
  maxExpansion: 100,
  expansionFloor: GiB,
};

/** The limits in effect for a store: `overrides` (a command's flags) over settings.json over the defaults. */
export function ingestLimits(root: string, overrides: Partial<IngestLimits> = {}): IngestLimits {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_INGEST_LIMITS, ...readSettings(root), ...defined };
}

export interface GuardedLayer {
  /** The layer in messages: its blob digest, or its name in an archive; none when it is the only one. */
  name?: string;
  /** Compressed bytes: the blob's size, or a counter of what has been read so far. */
  compressed?: number | (() => number);
  /** False for a layer already counted (one the store has, whose blob is only checked). */
  countInImage?: boolean;
}

/**
 * The running total of one image being pulled or loaded. `what` starts every message
 * ("pull `app:1`", "load archive").
 */
export class IngestBudget {
  private imageBytes = 0;

  constructor(
    readonly limits: IngestLimits,
    private readonly what: string,
  ) {}

  /** A layer the store has already: it counts toward the image at its recorded size. */
  present(bytes: number): void {
    this.addToImage(bytes);
  }

  /** The uncompressed tar of `layer`, refused at its first byte over a limit. */
  async *guard(tar: AsyncIterable<Buffer>, layer: GuardedLayer): AsyncGenerator<Buffer> {
    let bytes = 0;
    for await (const chunk of tar) {
      bytes += chunk.length;
      this.checkLayer(bytes, layer);
      if (layer.countInImage !== false) this.addToImage(chunk.length);
      yield chunk;
    }
  }

  private checkLayer(bytes: number, layer: GuardedLayer): void {
    const { maxLayerSize, maxExpansion, expansionFloor } = this.limits;
    const subject = layer.name === undefined ? 'the layer' : `layer \`${layer.name}\``;
    if (bytes > maxLayerSize) {
      throw new InvalidArgument(
        `${this.what}: ${subject} is over ${formatByteSize(maxLayerSize)} uncompressed, the limit for one layer (--max-layer-size)`,
        { code: 'LAYER_TOO_LARGE' },
      );
    }
    if (bytes <= expansionFloor || layer.compressed === undefined) return;
    const compressed = typeof layer.compressed === 'number' ? layer.compressed : layer.compressed();
    if (bytes > compressed * maxExpansion) {
      throw new InvalidArgument(
        `${this.what}: ${subject} expands more than ${maxExpansion}× its ${formatByteSize(compressed)} compressed (past ${formatByteSize(expansionFloor)}); a decompression bomb? (--max-expansion)`,
        { code: 'LAYER_EXPANDS_TOO_MUCH' },
      );
    }
  }

  private addToImage(bytes: number): void {
    this.imageBytes += bytes;
    if (this.imageBytes > this.limits.maxImageSize) {
      throw new InvalidArgument(
        `${this.what}: the image is over ${formatByteSize(this.limits.maxImageSize)} uncompressed, the limit for one image (--max-image-size)`,
        { code: 'IMAGE_TOO_LARGE' },
      );
    }
  }
}

/** `source` with a count of the bytes read from it so far, for a compressed size not known in advance. */
export function countBytes(source: AsyncIterable<Buffer>): {
  stream: AsyncIterable<Buffer>;
  count: () => number;
} {
  let n = 0;
  const stream = (async function* () {
    for await (const chunk of source) {
      n += chunk.length;
      yield chunk;
    }
  })();
  return { stream, count: () => n };
}
