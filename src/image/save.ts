/**
 * `skiff save`: images as an OCI image layout tar (default) or a docker-archive (what
 * `docker save` wrote before Docker 25). Layers that exist only unpacked are compressed on
 * demand, in parallel, once; a manifest whose layers are all blobs already is written as the
 * exact bytes it came as.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TarEntry } from '../archive/tar-header.js';
import { writeTar, type WriteEntry } from '../archive/tar-writer.js';
import type { Descriptor } from '../oci/descriptor.js';
import { digestOf, parseDigest, type Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import { familiarString, parseReference } from '../oci/reference.js';
import { fsyncDir, tempName } from '../util/atomic.js';
import type { Store } from '../store/store.js';
import { resolveImage, readImage, type Image } from './image.js';
import { compressedLayerBlob, mapLimit, requireLayerBlob, type LayerCompression } from './layer-blob.js';

export type SaveFormat = 'oci-archive' | 'docker-archive';

export interface SaveOptions {
  format?: SaveFormat;
  /** For layers that have no compressed blob yet; default gzip (every client reads it). */
  compression?: LayerCompression;
  signal?: AbortSignal;
}

interface Named {
  image: Image;
  names: string[];
}

export async function saveImages(
  store: Store,
  inputs: string[],
  output: string | Writable,
  options: SaveOptions = {},
): Promise<void> {
  await store.locked('shared', async () => {
    const images: Named[] = [];
    for (const input of inputs) {
      const resolved = resolveImage(store, input);
      const image = readImage(store, resolved);
      const existing = images.find((i) => i.image.manifestDigest === image.manifestDigest);
      const names = resolved.tag ? [resolved.tag] : [];
      if (existing) existing.names.push(...names);
      else images.push({ image, names });
    }
    const entries =
      options.format === 'docker-archive'
        ? dockerArchive(store, images)
        : await ociLayout(store, images, options);
    await writeOutput(writeTar(entries, options), output);
  });
}

async function writeOutput(tar: AsyncIterable<Buffer>, output: string | Writable): Promise<void> {
  if (typeof output !== 'string') {
    await pipeline(tar, output, { end: false });
    return;
  }
  // Written beside the target and renamed: an interrupted save never leaves a half archive.
  const target = path.resolve(output);
  const tmp = tempName(path.dirname(target), `.${path.basename(target)}.`);
  try {
    await pipeline(tar, fs.createWriteStream(tmp, { flags: 'wx' }));
    fs.renameSync(tmp, target);
    fsyncDir(path.dirname(target));
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

const FIXED_MTIME = 0;

function fileEntry(name: string, size: number): TarEntry {
  return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: FIXED_MTIME };
}

function dirEntry(name: string): TarEntry {
  return { name, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: FIXED_MTIME };
}

function bytesEntry(name: string, data: Buffer): WriteEntry {
  return { entry: fileEntry(name, data.length), body: data };
}

function blobPath(digest: Digest): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

async function ociLayout(store: Store, images: Named[], options: SaveOptions): Promise<WriteEntry[]> {
  const blobs = new Map<Digest, () => WriteEntry>();
  const index: Descriptor[] = [];
  for (const { image, names } of images) {
    const manifestBytes = await exportManifest(store, image, `save \`${names[0] ?? image.id}\``, options);
    // Not stored: it is derived, and rebuilt to the same bytes next time.
    const manifestDigest = digestOf(manifestBytes);
    blobs.set(manifestDigest, () => bytesEntry(blobPath(manifestDigest), manifestBytes));
    blobs.set(image.id, () => bytesEntry(blobPath(image.id), image.configBytes));
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as { layers: Descriptor[] };
    for (const layer of manifest.layers) {
      blobs.set(layer.digest, () => ({
        entry: fileEntry(blobPath(layer.digest), layer.size),
        body: store.content.open(layer.digest, options),
      }));
    }
    const base = { mediaType: image.mediaType, digest: manifestDigest, size: manifestBytes.length };
    if (names.length === 0) index.push(base);
    for (const name of names) {
      const ref = parseReference(name);
      index.push({
        ...base,
        annotations: {
          'io.containerd.image.name': name,
          'org.opencontainers.image.ref.name': ref.tag ?? 'latest',
        },
      });
    }
  }
  const indexBytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index }),
  );
  const entries: WriteEntry[] = [
    bytesEntry('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
    bytesEntry('index.json', indexBytes),
    { entry: dirEntry('blobs') },
    { entry: dirEntry('blobs/sha256') },
  ];
  for (const make of blobs.values()) entries.push(make());
  return entries;
}

/** The manifest to export: the stored bytes when every layer is a blob, else one with gzip layers. */
async function exportManifest(
  store: Store,
  image: Image,
  what: string,
  options: SaveOptions,
): Promise<Buffer> {
  const layers = image.manifest.layers;
  const diffIds = image.config.rootfs.diff_ids;
  // A kept blob goes out only as a checked form of its layer (layer-blob.ts).
  for (const [i, layer] of layers.entries()) {
    if (store.content.has(layer.digest)) await requireLayerBlob(store, layer, diffIds[i]!, what, options);
  }
  if (layers.every((l) => store.content.has(l.digest))) return image.manifestBytes;
  const exported = await mapLimit(layers, 2, async (layer, i) =>
    store.content.has(layer.digest)
      ? layer
      : { ...(await compressedLayerBlob(store, diffIds[i]!, options)), ...annotationsOf(layer) },
  );
  const parsed = JSON.parse(image.manifestBytes.toString('utf8')) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...parsed, mediaType: MediaType.OciManifest, layers: exported }));
}

function annotationsOf(layer: Descriptor): Partial<Descriptor> {
  return layer.annotations ? { annotations: layer.annotations } : {};
}

/** The classic docker-archive: manifest.json, <config hex>.json, <diff hex>/layer.tar (uncompressed). */
function dockerArchive(store: Store, images: Named[]): WriteEntry[] {
  const entries: WriteEntry[] = [];
  const written = new Set<string>();
  const manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  for (const { image, names } of images) {
    const configName = `${parseDigest(image.id).hex}.json`;
    if (!written.has(configName)) {
      written.add(configName);
      entries.push(bytesEntry(configName, image.configBytes));
    }
    const layerNames: string[] = [];
    for (const diffId of image.config.rootfs.diff_ids) {
      const dir = parseDigest(diffId).hex;
      const name = `${dir}/layer.tar`;
      layerNames.push(name);
      if (written.has(name)) continue;
      written.add(name);
      const row = store.meta.layer(diffId)!;
      entries.push({ entry: dirEntry(dir) });
      entries.push({ entry: fileEntry(name, row.size), body: store.layers.tar(diffId) });
    }
    manifest.push({
      Config: configName,
      RepoTags: names.map((n) => familiarString(parseReference(n))),
      Layers: layerNames,
    });
  }
  entries.push(bytesEntry('manifest.json', Buffer.from(JSON.stringify(manifest))));
  return entries;
}
