/**
 * `skiff pull`: only the layers the store lacks travel. The manifest (an index first, then the
 * platform's manifest) and the config are fetched and kept as their exact bytes, so the local
 * manifest digest is the registry's. Each missing layer streams once: its compressed digest is
 * checked as it passes, it is decompressed and unpacked straight into the layer store against
 * the config's diff ID, and the compressed bytes are kept in blobs/ at the same time (a temp
 * file, adopted at the end) so that a later push or save never compresses it again
 * (DESIGN.md). A blob of a layer the store has is checked the same way (decompressed and
 * hashed, not unpacked): a blob that is not its config's layer fails the pull, as in
 * containers/image. Layers go 3 at a time.
 *
 * Limits (DESIGN.md, "Trust"): a manifest of more layers than skiff can mount, or a config over
 * the metadata limit, is refused before anything else is fetched; each layer's uncompressed
 * bytes are counted as they unpack, against the store's ingest limits.
 *
 * Failure: nothing is recorded until everything is verified; layers this pull unpacked are
 * forgotten again (as load does), and temp files are removed, so a failed pull leaves the store
 * as it was.
 */
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { decompress } from '../../archive/compression.js';
import { commitImage } from '../../image/commit.js';
import { requireLayerBlob } from '../../image/layer-blob.js';
import { parseImageConfig } from '../../oci/config.js';
import { checkLayerCount, checkMetadataSize } from '../../oci/limits.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import { parseManifestOrIndex, type Manifest } from '../../oci/manifest.js';
import { isLayerType, layerCompression } from '../../oci/media-types.js';
import {
  formatPlatform,
  hostPlatform,
  platformMatches,
  selectManifest,
  type Platform,
} from '../../oci/platform.js';
import { formatReference, type Reference } from '../../oci/reference.js';
import { tempName } from '../../util/atomic.js';
import { DataLoss, InvalidArgument, NotFound } from '../../util/errors.js';
import { forgetLayers } from '../../store/gc.js';
import { IngestBudget, ingestLimits, type IngestLimits } from '../../store/ingest-limits.js';
import { diffIdOf, layerBlobMismatch } from '../../store/layer-blob-check.js';
import type { Store } from '../../store/store.js';
import { blobStream, fetchSmallBlob } from './download.js';
import { fetchManifest } from './manifests.js';
import { allOrNothing } from './parallel.js';
import { Progress, type ProgressListener } from './progress.js';
import type { Session } from './session.js';

export interface PullOptions {
  platform?: Platform;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Layers downloaded at once; default 3. */
  concurrency?: number;
  /** Limits over the store's settings (`--max-layer-size`…). */
  limits?: Partial<IngestLimits>;
}

export interface PullResult {
  reference: string;
  imageId: Digest;
  manifestDigest: Digest;
  /** The index the manifest was chosen from, when the reference named one. */
  indexDigest?: Digest;
  /** Layers downloaded (compressed bytes) and layers found locally. */
  downloaded: { digest: Digest; size: number }[];
  present: Digest[];
}

interface Staged {
  file: string;
  descriptor: Descriptor;
  diffId: Digest;
}

export async function pullImage(
  store: Store,
  session: Session,
  ref: Reference,
  options: PullOptions = {},
): Promise<PullResult> {
  const name = formatReference(ref);
  const what = `pull \`${name}\``;
  const { repository } = ref;
  const progress = new Progress(options.onProgress);
  const signal = options.signal;

  let fetched = await fetchManifest(session, repository, ref.digest ?? ref.tag ?? 'latest', what, signal);
  let parsed = parseManifestOrIndex(fetched.bytes, fetched.mediaType || undefined);
  let indexDigest: Digest | undefined;
  if (parsed.kind === 'index') {
    const want = options.platform ?? hostPlatform();
    const chosen = selectManifest(parsed.index, want);
    if (!chosen) {
      const offered = parsed.index.manifests.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : []));
      throw new NotFound(
        `${what}: no manifest for ${formatPlatform(want)} (the index offers ${offered.join(', ') || 'none'})`,
        { code: 'PLATFORM_NOT_FOUND' },
      );
    }
    indexDigest = fetched.digest;
    fetched = await fetchManifest(session, repository, chosen.digest, what, signal);
    parsed = parseManifestOrIndex(fetched.bytes, chosen.mediaType);
    if (parsed.kind !== 'manifest')
      throw new InvalidArgument(`${what}: nested index ${chosen.digest} is not supported`);
  }
  const manifest: Manifest = parsed.manifest;
  checkLayerCount(manifest.layers.length, what);
  checkMetadataSize(manifest.config.size, what, `config \`${manifest.config.digest}\``);
  const budget = new IngestBudget(ingestLimits(store.paths.root, options.limits), what);
  const configBytes = await fetchSmallBlob(session, repository, manifest.config, signal);
  const config = parseImageConfig(configBytes);
  if (indexDigest === undefined && options.platform !== undefined) {
    // A single-platform image: it must be what was asked for (Docker refuses a mismatch too).
    const have: Platform = { os: config.os, architecture: config.architecture };
    if (config.variant !== undefined) have.variant = config.variant;
    if (!platformMatches(options.platform, have))
      throw new NotFound(
        `${what}: the image is for ${formatPlatform(have)}, not ${formatPlatform(options.platform)}`,
        { code: 'PLATFORM_NOT_FOUND' },
      );
  }
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new InvalidArgument(
      `${what}: manifest lists ${manifest.layers.length} layers, config ${diffIds.length} diff IDs`,
    );
  }
  for (const layer of manifest.layers) {
    if (!isLayerType(layer.mediaType))
      throw new InvalidArgument(
        `${what}: layer ${layer.digest} has media type ${layer.mediaType}, not a layer`,
      );
  }

  return store.locked('shared', async () => {
    const created: Digest[] = [];
    const staged: Staged[] = [];
    const downloaded: PullResult['downloaded'] = [];
    const present: Digest[] = [];
    try {
      await allOrNothing(manifest.layers, options.concurrency ?? 3, signal, async (layer, i, signal) => {
        const diffId = diffIds[i]!;
        const kind = 'layer' as const;
        const compression = layerCompression(layer.mediaType) ?? 'none';
        const haveLayer = store.layers.has(diffId) && store.meta.layer(diffId) !== undefined;
        // An uncompressed layer blob is the layer itself; any other must be in blobs/.
        const haveBlob =
          compression === 'none' && layer.digest === diffId ? haveLayer : store.content.has(layer.digest);
        if (haveLayer) budget.present(store.meta.layer(diffId)!.size);
        if (haveLayer && haveBlob) {
          // The blob may be here as another layer's, or from a registry that named it beside
          // this diff ID before blobs were checked: it must be this layer.
          await requireLayerBlob(store, layer, diffId, what, { signal });
          present.push(layer.digest);
          progress.emit({ digest: layer.digest, kind, phase: 'exists', total: layer.size });
          return;
        }
        progress.emit({ digest: layer.digest, kind, phase: 'downloading', bytes: 0, total: layer.size });
        const stream = blobStream(session, repository, layer, {
          signal,
          onBytes: (n) => progress.bytes(layer.digest, kind, 'downloading', n, layer.size),
          onRetry: (reason) => progress.emit({ digest: layer.digest, kind, phase: 'retrying', reason }),
        });
        // A compressed blob is kept as it streams by; an uncompressed one is the layer itself.
        const file = compression === 'none' ? undefined : tempName(store.paths.tmp, 'pull-');
        const guarded = (blob: AsyncIterable<Buffer>) =>
          budget.guard(decompress(blob, compression, { signal }), {
            name: layer.digest,
            compressed: compression === 'none' ? undefined : layer.size,
            countInImage: !haveLayer,
          });
        if (file !== undefined) staged.push({ file, descriptor: layer, diffId });
        const fd = file === undefined ? undefined : fs.openSync(file, 'wx', 0o644);
        try {
          if (haveLayer) {
            // The layer is here, only this form of it is not: nothing is unpacked, but the blob
            // is decompressed and hashed as it streams by, and kept only if it is this layer.
            // A registry naming any blob beside a diff ID the store has must not make that blob
            // what a later push or save sends for the layer.
            const got = (await fanOut(stream, fd, (blob) =>
              diffIdOf(guarded(blob), diffId, { signal }).catch((err: unknown) => {
                if (!(err instanceof DataLoss)) throw err;
                throw mismatch(
                  what,
                  layer.digest,
                  diffId,
                  `it does not decompress as ${compression} (${err.message})`,
                );
              }),
            ))!;
            if (got.diffId !== diffId)
              throw mismatch(what, layer.digest, diffId, `it decompresses to ${got.diffId}`);
          } else {
            const unpacked = (await fanOut(stream, fd, (blob) =>
              store.layers.unpack(guarded(blob), {
                expectDiffId: diffId,
                signal,
              }),
            ))!;
            store.meta.addLayer(unpacked);
            if (unpacked.created) created.push(diffId);
          }
          // The layer's syncfs has made these bytes durable already, unless no layer was unpacked.
          if (fd !== undefined) fs.fsyncSync(fd);
        } finally {
          if (fd !== undefined) fs.closeSync(fd);
        }
        downloaded.push({ digest: layer.digest, size: layer.size });
        progress.emit({ digest: layer.digest, kind, phase: 'done', bytes: layer.size, total: layer.size });
      });

      // Everything is verified: blobs move into place, then the rows. The layer blob rows come
      // before the manifest's, so no moment exists where a recorded manifest names a blob that
      // garbage collection would take for unreferenced.
      for (const s of staged)
        if (!store.content.has(s.descriptor.digest)) store.content.adopt(s.file, s.descriptor.digest);
      store.meta.transaction(() => {
        for (const s of staged) {
          store.meta.addLayerBlob({
            digest: s.descriptor.digest,
            diff_id: s.diffId,
            media_type: s.descriptor.mediaType,
            size: s.descriptor.size,
          });
        }
        for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)])
          store.meta.addBlobLocation(d, ref.registry, repository);
      });
      const tags = ref.tag !== undefined ? [formatReference({ ...ref, digest: undefined })] : [];
      const committed = await commitImage(store, {
        config: configBytes,
        manifest: { bytes: fetched.bytes, mediaType: manifest.mediaType },
        tags,
      });
      return {
        reference: name,
        imageId: committed.id,
        manifestDigest: committed.manifestDigest,
        ...(indexDigest !== undefined ? { indexDigest } : {}),
        downloaded,
        present,
      };
    } catch (err) {
      forgetLayers(store, created);
      throw err;
    } finally {
      for (const s of staged) fs.rmSync(s.file, { force: true });
    }
  });
}

function mismatch(what: string, blob: Digest, diffId: Digest, why: string): DataLoss {
  return new DataLoss(`${what}: ${layerBlobMismatch(blob, diffId, why)}`, { code: 'LAYER_BLOB_MISMATCH' });
}

/**
 * Reads the download to its end, writing it to `fd` and feeding it to `consume` (decompress and
 * unpack). The download is read to its end even when `consume` fails or stops early, so its
 * digest is always checked: a transfer gone wrong is reported as what it is (a digest mismatch,
 * a lost connection), not as the corrupt gzip or tar it produced.
 */
async function fanOut<T>(
  download: AsyncIterable<Buffer>,
  fd: number | undefined,
  consume: ((blob: AsyncIterable<Buffer>) => Promise<T>) | undefined,
): Promise<T | undefined> {
  const pass = new PassThrough({ highWaterMark: 1 << 20 });
  // The consumer reads errors through its iterator; nobody else listens for them.
  pass.on('error', () => {});
  const consumer = consume === undefined ? undefined : consume(pass as AsyncIterable<Buffer>);
  // Once the consumer is done, whatever it did not read is only drained (and hashed).
  const settled = consumer?.then(
    () => pass.destroy(),
    () => pass.destroy(),
  );
  const pump = (async () => {
    try {
      for await (const chunk of download) {
        if (fd !== undefined) writeAll(fd, chunk);
        if (consumer !== undefined && !pass.destroyed && !pass.write(chunk)) await drained(pass);
      }
      pass.end();
    } catch (err) {
      pass.destroy(err as Error);
      throw err;
    }
  })();
  const [pumped, consumed] = await Promise.allSettled([pump, consumer]);
  await settled;
  if (pumped.status === 'rejected') throw pumped.reason;
  if (consumed.status === 'rejected') throw consumed.reason;
  return consumed.value;
}

function drained(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function writeAll(fd: number, chunk: Buffer): void {
  let offset = 0;
  while (offset < chunk.length) offset += fs.writeSync(fd, chunk, offset);
}
