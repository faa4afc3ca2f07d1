/**
 * The fixed limits on what an image may be, in one place: what pull, load, commit and the
 * registry server accept is exactly what the store reads back and can run, so nothing is
 * accepted that `inspect`, `run` or `system check` would then refuse.
 */
import { InvalidArgument } from '../util/errors.js';

/**
 * The most bytes of one metadata blob: a manifest, an index or an image config. It is held in
 * memory whole and parsed as JSON. 4 MiB is the manifest limit distribution-spec lets
 * registries impose (and the common one), and the config limit containers/image applies: a
 * config of a few thousand history entries is well under 1 MiB.
 */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024;

/**
 * The most layers an image may have: what one overlay mount of skiff's takes. The mount
 * options must fit in one page (4096 bytes, NUL included); skiff names each lower dir by its
 * short link, `l/<16 hex>` plus a `:` (19 bytes), relative to the store root, and the upper
 * and work dirs of a container (`containers/<64 hex>/upper`, `…/work`) take 188 bytes with
 * `lowerdir=`: room for 205 layers, of which 200 are promised. overlayfs's own stack limit
 * (500) is higher. Docker stops at 125 for the same reason.
 */
export const MAX_LAYERS = 200;

/** Refuses an image of more layers than one overlay mount takes; `what` starts the message. */
export function checkLayerCount(count: number, what: string): void {
  if (count > MAX_LAYERS)
    throw new InvalidArgument(
      `${what}: the image has ${count} layers, more than the ${MAX_LAYERS} skiff can mount`,
      { code: 'TOO_MANY_LAYERS' },
    );
}

/** Refuses a manifest, index or config (`kind`, with its digest) over MAX_METADATA_BYTES. */
export function checkMetadataSize(size: number, what: string, kind: string): void {
  if (size > MAX_METADATA_BYTES)
    throw new InvalidArgument(
      `${what}: ${kind} is ${size} bytes, more than the ${MAX_METADATA_BYTES} (4 MiB) skiff reads for one`,
      { code: 'METADATA_TOO_LARGE' },
    );
}
