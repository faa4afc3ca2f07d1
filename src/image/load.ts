/**
 * `skiff load`: an OCI image layout tar (what `skiff save`, `skopeo copy … oci-archive:` and
 * `podman save --format oci-archive` write) or a docker-archive (`docker save`, `podman save`,
 * `skopeo copy … docker-archive:`), plain or compressed. Blobs stream into the content store
 * with their digests checked; layers are unpacked (or, when the store has them, decompressed and
 * hashed) and checked against the config's diff IDs; rows are written last. A failure leaves
 * only unreferenced files, which `system prune` removes.
 *
 * Limits (DESIGN.md, "Trust"): the archive's other files are staged on disk, never in memory,
 * and only those under the metadata limit are kept to be read; an image of more layers than
 * skiff can mount is refused before its layers are unpacked; every layer's uncompressed bytes
 * are counted against the store's ingest limits as it unpacks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decompress, detectCompression } from '../archive/compression.js';
import { readTar } from '../archive/tar-reader.js';
import { parseImageConfig } from '../oci/config.js';
import { isDigest, type Digest } from '../oci/digest.js';
import { checkLayerCount, checkMetadataSize, MAX_METADATA_BYTES } from '../oci/limits.js';
import { parseIndex, parseManifestOrIndex } from '../oci/manifest.js';
import { layerCompression } from '../oci/media-types.js';
import { hostPlatform, selectManifest } from '../oci/platform.js';
import { formatReference, parseReference } from '../oci/reference.js';
import { InvalidArgument } from '../util/errors.js';
import { peek } from '../util/streams.js';
import { tempName } from '../util/atomic.js';
import { ContentStore } from '../store/content-store.js';
import { forgetLayers } from '../store/gc.js';
import { IngestBudget, ingestLimits, type IngestLimits } from '../store/ingest-limits.js';
import { diffIdOf, layerBlobMismatch } from '../store/layer-blob-check.js';
import type { Store } from '../store/store.js';
import { commitImage, type Committed } from './commit.js';

export interface LoadOptions {
  signal?: AbortSignal;
  /** Limits over the store's settings (`--max-layer-size`…). */
  limits?: Partial<IngestLimits>;
}

export interface Loaded extends Committed {
  tags: string[];
}

interface Archive {
  /** Blobs of this archive, staged in tmp/ until the load succeeds: a failed load leaves none. */
  staged: ContentStore;
  /** Where the archive's other small files are staged, by number. */
  filesDir: string;
  /** Layers this load unpacked; removed again if the load fails. */
  createdLayers: Digest[];
  /** Paths of other files up to the metadata limit → their staged file. */
  files: Map<string, string>;
  /** Paths of other files over the metadata limit → their size: never read, named if asked for. */
  oversized: Map<string, number>;
  /** Paths of stored blobs → their digest. */
  blobs: Map<string, Digest>;
  /** Paths of layer tars unpacked straight from the archive → their diff ID. */
  layers: Map<string, Digest>;
  /** Symlinks inside the archive (docker save links repeated layers). */
  links: Map<string, string>;
  limits: IngestLimits;
}

export async function loadArchive(
  store: Store,
  source: AsyncIterable<Buffer>,
  options: LoadOptions = {},
): Promise<Loaded[]> {
  return store.locked('shared', async () => {
    const stagingDir = tempName(store.paths.tmp, 'load-');
    fs.mkdirSync(path.join(stagingDir, 'sha256'), { recursive: true });
    fs.mkdirSync(path.join(stagingDir, 'sha512'), { recursive: true });
    fs.mkdirSync(path.join(stagingDir, 'files'), { recursive: true });
    const archive: Archive = {
      staged: new ContentStore({ ...store.paths, blobs: stagingDir }),
      filesDir: path.join(stagingDir, 'files'),
      createdLayers: [],
      files: new Map(),
      oversized: new Map(),
      blobs: new Map(),
      layers: new Map(),
      links: new Map(),
      limits: ingestLimits(store.paths.root, options.limits),
    };
    try {
      await readArchive(store, archive, source, options);
      if (archive.files.has('index.json') || archive.oversized.has('index.json'))
        return await loadOciLayout(store, archive, options);
      if (archive.files.has('manifest.json') || archive.oversized.has('manifest.json'))
        return await loadDockerArchive(store, archive, options);
      throw new InvalidArgument(
        'load archive: neither index.json (OCI layout) nor manifest.json (docker-archive) found',
      );
    } catch (err) {
      forgetLayers(store, archive.createdLayers);
      throw err;
    } finally {
      fs.rmSync(stagingDir, { recursive: true, force: true });
    }
  });
}

async function readArchive(
  store: Store,
  archive: Archive,
  source: AsyncIterable<Buffer>,
  options: LoadOptions,
): Promise<void> {
  const { head, stream } = await peek(source, 4);
  if (head.length === 0) throw new InvalidArgument('load archive: input is empty');
  const tar = readTar(decompress(stream, detectCompression(head), options), options);
  // A docker-archive's layers unpack as they stream by, before its manifest says which image
  // they belong to: here only the limits of one layer apply, the image's once it is assembled.
  const layersOnly = new IngestBudget({ ...archive.limits, maxImageSize: Infinity }, 'load archive');
  let count = 0;
  for await (const { entry, body } of tar) {
    const name = entry.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    if (entry.type === 'symlink' || entry.type === 'hardlink') {
      archive.links.set(name, entry.linkname ?? '');
      continue;
    }
    if (entry.type !== 'file') continue;
    const blob = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(name);
    if (blob) {
      const digest = `${blob[1]}:${blob[2]}`;
      if (!isDigest(digest))
        throw new InvalidArgument(`load archive: entry \`${name}\`: not a valid blob name`);
      await archive.staged.ingest(body, { digest, size: entry.size }, options);
      archive.blobs.set(name, digest);
    } else if (name.endsWith('.tar')) {
      // A docker-archive layer: unpacked as it streams by, never stored as a blob.
      const { head: layerHead, stream: layerStream } = await peek(body, 4);
      const compression = detectCompression(layerHead);
      const unpacked = await store.layers.unpack(
        layersOnly.guard(decompress(layerStream, compression, options), {
          name,
          compressed: compression === 'none' ? undefined : entry.size,
        }),
        options,
      );
      store.meta.addLayer(unpacked);
      if (unpacked.created) archive.createdLayers.push(unpacked.diffId);
      archive.layers.set(name, unpacked.diffId);
    } else if (entry.size <= MAX_METADATA_BYTES) {
      // Numbered by entry, not by name: a name may come twice (the last one counts, as in tar).
      const file = path.join(archive.filesDir, String(count++));
      await pipeline(body, fs.createWriteStream(file, { flags: 'wx' }));
      archive.files.set(name, file);
      archive.oversized.delete(name);
    } else {
      archive.oversized.set(name, entry.size);
      archive.files.delete(name);
    }
  }
}

/** A small file of the archive (index.json, manifest.json, a docker config), or undefined. */
function readFile(archive: Archive, name: string): Buffer | undefined {
  const size = archive.oversized.get(name);
  if (size !== undefined) checkMetadataSize(size, 'load archive', `\`${name}\``);
  const file = archive.files.get(name);
  return file === undefined ? undefined : fs.readFileSync(file);
}

/** Names the archive file in a parse error: "load archive: `index.json`: …". */
function withFile<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InvalidArgument)
      throw new InvalidArgument(`load archive: \`${name}\`: ${err.message}`, { cause: err });
    throw err;
  }
}

function parseJsonFile<T>(archive: Archive, name: string): T {
  const bytes = readFile(archive, name);
  if (!bytes) throw new InvalidArgument(`load archive: \`${name}\` is missing`);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new InvalidArgument(`load archive: \`${name}\`: malformed JSON: ${(err as Error).message}`);
  }
}

interface LayerBlob {
  digest: Digest;
  diffId: Digest;
  mediaType: string;
  size: number;
}

/**
 * Unpacks every layer not yet in the store, checking it against the config's diff ID; the blob
 * of a layer the store has is decompressed and hashed all the same, since the archive may name
 * any blob beside any diff ID. Returns the compressed blobs to keep once the image is committed:
 * each one has been checked to be its layer, compressed as its media type says.
 */
async function unpackLayers(
  store: Store,
  archive: Archive,
  layers: { digest: Digest; mediaType?: string }[],
  diffIds: Digest[],
  budget: IngestBudget,
  options: LoadOptions,
): Promise<LayerBlob[]> {
  const keep: LayerBlob[] = [];
  if (layers.length !== diffIds.length) {
    throw new InvalidArgument(
      `load archive: ${layers.length} layers but the config lists ${diffIds.length} diff IDs`,
    );
  }
  for (const [i, layer] of layers.entries()) {
    const diffId = diffIds[i]!;
    const { head, stream } = await peek(archive.staged.open(layer.digest, options), 4);
    const detected = detectCompression(head);
    const declared = layer.mediaType ? layerCompression(layer.mediaType) : undefined;
    if (declared !== undefined && declared !== 'none' && declared !== detected) {
      throw new InvalidArgument(
        `load archive: blob ${layer.digest}: its media type ${layer.mediaType} says ${declared}, its content is ${detected === 'none' ? 'not compressed' : detected}`,
      );
    }
    const present = store.meta.layer(diffId);
    if (present !== undefined) budget.present(present.size);
    const tar = budget.guard(decompress(stream, detected, options), {
      name: layer.digest,
      compressed: detected === 'none' ? undefined : archive.staged.size(layer.digest),
      countInImage: present === undefined,
    });
    if (!store.layers.has(diffId)) {
      const unpacked = await store.layers.unpack(tar, { expectDiffId: diffId, signal: options.signal });
      store.meta.addLayer(unpacked);
      if (unpacked.created) archive.createdLayers.push(unpacked.diffId);
    } else {
      const got = await diffIdOf(tar, diffId, options);
      if (got.diffId !== diffId) {
        throw new InvalidArgument(
          `load archive: ${layerBlobMismatch(layer.digest, diffId, `it decompresses to ${got.diffId}`)}`,
        );
      }
      // Unpacked by a run that died before recording it: the directory is complete (it was
      // renamed into place), only its row is missing.
      if (!store.meta.layer(diffId)) store.meta.addLayer({ diffId, size: got.size, entries: 0 });
    }
    if (declared !== undefined && declared !== 'none') {
      keep.push({
        digest: layer.digest,
        diffId,
        mediaType: layer.mediaType!,
        size: archive.staged.size(layer.digest),
      });
    }
  }
  return keep;
}

/** Moves the kept layer blobs (each checked) out of staging and records them, just before commit. */
function keepLayerBlobs(store: Store, archive: Archive, blobs: LayerBlob[]): void {
  for (const blob of blobs) {
    if (!store.content.has(blob.digest)) store.content.adopt(archive.staged.path(blob.digest), blob.digest);
    store.meta.addLayerBlob({
      digest: blob.digest,
      diff_id: blob.diffId,
      media_type: blob.mediaType,
      size: blob.size,
    });
  }
}

async function loadOciLayout(store: Store, archive: Archive, options: LoadOptions): Promise<Loaded[]> {
  const indexBytes = readFile(archive, 'index.json')!;
  const index = withFile('index.json', () => parseIndex(indexBytes));
  const loaded: Loaded[] = [];
  for (const [i, top] of index.manifests.entries()) {
    let descriptor = top;
    let bytes = readBlob(archive, descriptor.digest, `index.json manifests[${i}]`);
    let parsed = parseManifestOrIndex(bytes, descriptor.mediaType);
    if (parsed.kind === 'index') {
      const chosen = selectManifest(parsed.index, hostPlatform());
      if (!chosen)
        throw new InvalidArgument(
          `load archive: index ${descriptor.digest} has no manifest for this platform`,
        );
      descriptor = chosen;
      bytes = readBlob(archive, descriptor.digest, `index ${top.digest}`);
      parsed = parseManifestOrIndex(bytes, descriptor.mediaType);
      if (parsed.kind !== 'manifest')
        throw new InvalidArgument(`load archive: nested index ${descriptor.digest} is not supported`);
    }
    const manifest = parsed.manifest;
    checkLayerCount(manifest.layers.length, `load archive: manifest ${descriptor.digest}`);
    const configBytes = readBlob(archive, manifest.config.digest, `manifest ${descriptor.digest} config`);
    const config = parseImageConfig(configBytes);
    for (const layer of manifest.layers)
      readBlobPresent(archive, layer.digest, `manifest ${descriptor.digest}`);
    const budget = new IngestBudget(archive.limits, 'load archive');
    const blobs = await unpackLayers(
      store,
      archive,
      manifest.layers,
      config.rootfs.diff_ids,
      budget,
      options,
    );
    keepLayerBlobs(store, archive, blobs);
    const tags = imageName(top.annotations);
    const committed = await commitImage(store, {
      config: configBytes,
      manifest: { bytes, mediaType: manifest.mediaType },
      tags,
    });
    loaded.push({ ...committed, tags });
  }
  return loaded;
}

function imageName(annotations: Record<string, string> | undefined): string[] {
  const full = annotations?.['io.containerd.image.name'];
  const ref = annotations?.['org.opencontainers.image.ref.name'];
  for (const candidate of [full, ref]) {
    if (candidate === undefined) continue;
    // A bare tag ("1") names no repository; only a full reference becomes a tag here.
    if (candidate === ref && !/[/:]/.test(candidate)) continue;
    try {
      const parsed = parseReference(candidate);
      if (parsed.digest === undefined) return [formatReference(parsed)];
    } catch {
      // Not a reference: the image loads untagged.
    }
  }
  return [];
}

function readBlobPresent(archive: Archive, digest: Digest, where: string): void {
  const hex = digest.split(':')[1];
  const name = `blobs/${digest.split(':')[0]}/${hex}`;
  if (!archive.blobs.has(name))
    throw new InvalidArgument(`load archive: ${where}: blob ${digest} is not in the archive`);
}

function readBlob(archive: Archive, digest: Digest, where: string): Buffer {
  readBlobPresent(archive, digest, where);
  checkMetadataSize(archive.staged.size(digest), `load archive: ${where}`, `blob ${digest}`);
  return archive.staged.readBytes(digest);
}

interface DockerManifestEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

async function loadDockerArchive(store: Store, archive: Archive, options: LoadOptions): Promise<Loaded[]> {
  const entries = parseJsonFile<DockerManifestEntry[]>(archive, 'manifest.json');
  if (!Array.isArray(entries))
    throw new InvalidArgument('load archive: `manifest.json`: expected a JSON array');
  const loaded: Loaded[] = [];
  for (const [i, item] of entries.entries()) {
    const where = `manifest.json[${i}]`;
    if (typeof item.Config !== 'string')
      throw new InvalidArgument(`load archive: ${where}.Config: expected a path`);
    if (!Array.isArray(item.Layers) || !item.Layers.every((l) => typeof l === 'string')) {
      throw new InvalidArgument(`load archive: ${where}.Layers: expected an array of paths`);
    }
    checkLayerCount(item.Layers.length, `load archive: ${where}`);
    const configDigest = archive.blobs.get(item.Config);
    const configBytes = configDigest
      ? readBlob(archive, configDigest, `${where}.Config`)
      : readFile(archive, item.Config);
    if (!configBytes)
      throw new InvalidArgument(`load archive: ${where}.Config: \`${item.Config}\` is not in the archive`);
    const config = parseImageConfig(configBytes);
    const diffIds = config.rootfs.diff_ids;
    if (item.Layers.length !== diffIds.length) {
      throw new InvalidArgument(
        `load archive: ${where}: ${item.Layers.length} layers but the config lists ${diffIds.length} diff IDs`,
      );
    }
    const budget = new IngestBudget(archive.limits, 'load archive');
    for (const [j, path] of (item.Layers as string[]).entries()) {
      const target = resolveLink(archive, path);
      const unpacked = archive.layers.get(target);
      const blob = archive.blobs.get(target);
      if (unpacked !== undefined) {
        if (unpacked !== diffIds[j]) {
          throw new InvalidArgument(
            `load archive: \`${path}\` has diff ID ${unpacked}, the config expects ${diffIds[j]}`,
          );
        }
        budget.present(store.meta.layer(unpacked)?.size ?? 0);
      } else if (blob !== undefined) {
        await unpackLayers(store, archive, [{ digest: blob }], [diffIds[j]!], budget, options);
      } else {
        throw new InvalidArgument(`load archive: ${where}.Layers: \`${path}\` is not in the archive`);
      }
    }
    const tags = Array.isArray(item.RepoTags)
      ? item.RepoTags.filter((t): t is string => typeof t === 'string').map((t) =>
          formatReference(parseReference(t)),
        )
      : [];
    const committed = await commitImage(store, { config: configBytes, tags });
    loaded.push({ ...committed, tags });
  }
  return loaded;
}

/** Follows `a/layer.tar -> ../b/layer.tar` links, relative to the link's directory. */
function resolveLink(archive: Archive, name: string): string {
  let current = name;
  for (let hops = 0; hops < 16; hops++) {
    const target = archive.links.get(current);
    if (target === undefined) return current;
    const parts = current.split('/').slice(0, -1);
    for (const part of target.split('/')) {
      if (part === '..') parts.pop();
      else if (part !== '.' && part !== '') parts.push(part);
    }
    current = parts.join('/');
  }
  throw new InvalidArgument(`load archive: \`${name}\`: too many symlinks`);
}
