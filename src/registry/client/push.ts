/**
 * `skiff push`: only what the registry lacks travels. Each layer needs a compressed blob: the
 * one it was pulled or loaded as, the one made by an earlier push or save, or, for a layer
 * never compressed, one made now while it uploads (stream-upload.ts) and kept, so a layer is
 * compressed once in its life. A known blob is sent only if the repository lacks it (HEAD),
 * mounted when another repository of the registry has it. Layers go 3 at a time; then the
 * config, then the manifest (distribution-spec: a manifest's blobs must exist before it).
 *
 * When the local manifest names uncompressed layers, the pushed manifest is a new one with the
 * compressed descriptors. It is stored and recorded as another manifest of the image, and the
 * pushed tag moves to it, so `skiff images`/`inspect` show the registry's digest and a re-push
 * sends the same bytes.
 */
import fs from 'node:fs';
import { commitImage } from '../../image/commit.js';
import { readImage, resolveImage, type Image } from '../../image/image.js';
import { compressedLayerBlob, requireLayerBlob, type LayerCompression } from '../../image/layer-blob.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import { MediaType, layerCompression } from '../../oci/media-types.js';
import { formatReference, type Reference } from '../../oci/reference.js';
import type { Store } from '../../store/store.js';
import { SkiffError } from '../../util/errors.js';
import { putManifest } from './manifests.js';
import { allOrNothing } from './parallel.js';
import { Progress, type ProgressListener } from './progress.js';
import type { Session } from './session.js';
import { RegistryError } from './session.js';
import { compressAndUpload } from './stream-upload.js';
import { isTransientError } from './transport.js';
import { pushBlob, pushScopes, type UploadOutcome } from './upload.js';

export interface PushOptions {
  compression?: LayerCompression;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Layers prepared and sent at once; default 3. */
  concurrency?: number;
  /** Upload chunk size (tests make it small to exercise chunked uploads). */
  chunkSize?: number;
}

export interface PushResult {
  reference: string;
  digest: Digest;
  size: number;
  mediaType: string;
  /** Per blob (layers, then the config): what happened to it and the bytes sent. */
  blobs: { digest: Digest; kind: 'layer' | 'config'; outcome: UploadOutcome }[];
  bytesUploaded: number;
}

export async function pushImage(
  store: Store,
  session: Session,
  source: string,
  target: Reference,
  options: PushOptions = {},
): Promise<PushResult> {
  const { repository } = target;
  const progress = new Progress(options.onProgress);
  return store.locked('shared', async () => {
    const resolved = resolveImage(store, source);
    const image = readImage(store, resolved);
    const diffIds = image.config.rootfs.diff_ids;
    const blobs: PushResult['blobs'] = [];
    for (const layer of image.manifest.layers)
      progress.emit({ digest: layer.digest, kind: 'layer', phase: 'waiting' });

    const layers = await allOrNothing(
      image.manifest.layers,
      options.concurrency ?? 3,
      options.signal,
      async (layer, i, signal) => {
        let descriptor: Descriptor = layer;
        const annotations = layer.annotations ? { annotations: layer.annotations } : {};
        if (isKeptBlob(store, layer)) {
          // The image's own blob goes out only as a checked form of its layer: a blob a
          // registry or an archive merely named beside the diff ID is refused.
          await requireLayerBlob(store, layer, diffIds[i]!, `push \`${source}\``, { signal });
        } else {
          const diffId = diffIds[i]!;
          if (!hasCompressedBlob(store, diffId, options.compression ?? 'gzip')) {
            // Never compressed: compress and upload in one pass.
            try {
              const streamed = await compressAndUpload(store, session, repository, diffId, {
                compression: options.compression,
                onBytes: (n, total) =>
                  progress.bytes(layer.digest, 'layer', 'uploading', n, total, layer.digest),
                signal,
              });
              progress.emit({ digest: streamed.digest, id: layer.digest, kind: 'layer', phase: 'done' });
              const outcome: UploadOutcome = { how: 'uploaded', bytes: streamed.size };
              blobs[i] = { digest: streamed.digest, kind: 'layer', outcome };
              return { ...streamed, ...annotations };
            } catch (err) {
              if (signal.aborted || !worthFallingBack(err)) throw err;
              progress.emit({
                digest: layer.digest,
                kind: 'layer',
                phase: 'retrying',
                reason: `streamed upload failed (${(err as Error).message}); compressing first, then a resumable upload`,
              });
            }
          }
          progress.emit({ digest: layer.digest, kind: 'layer', phase: 'compressing' });
          const made = await compressedLayerBlob(store, diffId, { compression: options.compression, signal });
          descriptor = { ...made, ...annotations };
        }
        const outcome = await sendBlob(
          store,
          session,
          repository,
          descriptor,
          'layer',
          progress,
          options,
          signal,
          layer.digest,
        );
        blobs[i] = { digest: descriptor.digest, kind: 'layer', outcome };
        return descriptor;
      },
    );
    const configOutcome = await sendBlob(
      store,
      session,
      repository,
      image.manifest.config,
      'config',
      progress,
      options,
      options.signal,
    );
    blobs.push({ digest: image.manifest.config.digest, kind: 'config', outcome: configOutcome });

    const manifest = await manifestToPush(
      store,
      image,
      layers,
      formatReference({ ...target, digest: undefined }),
      resolved.tag,
    );
    const name = formatReference(target);
    const digest = await putManifest(
      session,
      repository,
      target.tag ?? manifest.digest,
      manifest,
      pushScopes(repository),
      `push \`${name}\``,
      options.signal,
    );
    store.meta.transaction(() => {
      for (const d of [image.manifest.config.digest, ...layers.map((l) => l.digest)])
        store.meta.addBlobLocation(d, target.registry, repository);
    });
    const bytesUploaded = blobs.reduce(
      (sum, b) => sum + (b.outcome.how === 'uploaded' ? b.outcome.bytes : 0),
      0,
    );
    return {
      reference: name,
      digest,
      size: manifest.bytes.length,
      mediaType: manifest.mediaType,
      blobs,
      bytesUploaded,
    };
  });
}

/** Whether the layer was compressed this way before (compressedLayerBlob would find it). */
function hasCompressedBlob(store: Store, diffId: Digest, compression: LayerCompression): boolean {
  const mediaType = compression === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayerGzip;
  return store.meta.layerBlobsOf(diffId, mediaType).some((b) => store.content.has(b.digest));
}

/** A streamed upload that broke for a passing reason is worth doing again the resumable way. */
function worthFallingBack(err: unknown): boolean {
  if (isTransientError(err)) return true;
  const status = err instanceof RegistryError ? err.status : undefined;
  return status === undefined ? !(err instanceof SkiffError) : status >= 500 || status === 429;
}

/** A layer descriptor whose blob is in blobs/ and is a distributable compressed form. */
function isKeptBlob(store: Store, layer: Descriptor): boolean {
  const compression = layerCompression(layer.mediaType);
  return compression !== undefined && compression !== 'none' && store.content.has(layer.digest);
}

async function sendBlob(
  store: Store,
  session: Session,
  repository: string,
  blob: Descriptor,
  kind: 'layer' | 'config',
  progress: Progress,
  options: PushOptions,
  signal: AbortSignal | undefined,
  id: Digest = blob.digest,
): Promise<UploadOutcome> {
  const file = store.content.path(blob.digest);
  const outcome = await pushBlob(session, repository, blob, {
    mountFrom: store.meta.blobLocations(blob.digest, session.registry),
    read: (start, end) => fs.createReadStream(file, { start, end: end - 1, highWaterMark: 1 << 20 }),
    onStart: () =>
      progress.emit({ digest: blob.digest, id, kind, phase: 'uploading', bytes: 0, total: blob.size }),
    onBytes: (n) => progress.bytes(blob.digest, kind, 'uploading', n, blob.size, id),
    chunkSize: options.chunkSize,
    signal,
  });
  if (outcome.how === 'exists')
    progress.emit({ digest: blob.digest, id, kind, phase: 'exists', total: blob.size });
  else if (outcome.how === 'mounted')
    progress.emit({ digest: blob.digest, id, kind, phase: 'mounted', from: outcome.from, total: blob.size });
  else progress.emit({ digest: blob.digest, id, kind, phase: 'done', bytes: blob.size, total: blob.size });
  return outcome;
}

/**
 * The stored manifest when its layers went as they are; otherwise a new OCI manifest with the
 * compressed descriptors, recorded as a manifest of the image (and the pushed tag moved to it
 * when the image was named by that tag).
 */
async function manifestToPush(
  store: Store,
  image: Image,
  layers: Descriptor[],
  targetName: string,
  sourceTag: string | undefined,
): Promise<{ bytes: Buffer; mediaType: string; digest: Digest }> {
  const same = layers.every((l, i) => l.digest === image.manifest.layers[i]!.digest);
  if (same) return { bytes: image.manifestBytes, mediaType: image.mediaType, digest: image.manifestDigest };
  const original = JSON.parse(image.manifestBytes.toString('utf8')) as Record<string, unknown>;
  const config = { mediaType: MediaType.OciConfig, digest: image.id, size: image.configBytes.length };
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config,
    layers,
  };
  if (original['annotations'] !== undefined) manifest['annotations'] = original['annotations'];
  const bytes = Buffer.from(JSON.stringify(manifest));
  const tags = sourceTag === targetName ? [targetName] : [];
  const committed = await commitImage(store, {
    config: image.configBytes,
    manifest: { bytes, mediaType: MediaType.OciManifest },
    tags,
  });
  return { bytes, mediaType: MediaType.OciManifest, digest: committed.manifestDigest };
}
