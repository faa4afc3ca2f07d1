/**
 * `skiff load`: an OCI image layout tar (what `skiff save`, `skopeo copy … oci-archive:` and
 * `podman save --format oci-archive` write) or a docker-archive (`docker save`, `podman save`,
 * `skopeo copy … docker-archive:`), plain or compressed. Blobs stream into the content store
 * with their digests checked; layers are unpacked and checked against the config's diff IDs;
 * rows are written last. A failure leaves only unreferenced files, which `system prune` removes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decompress, detectCompression } from '../archive/compression.js';
import { readTar } from '../archive/tar-reader.js';
import { parseImageConfig } from '../oci/config.js';
import { isDigest, type Digest } from '../oci/digest.js';
import { parseIndex, parseManifestOrIndex } from '../oci/manifest.js';
import { layerCompression } from '../oci/media-types.js';
import { hostPlatform, selectManifest } from '../oci/platform.js';
import { formatReference, parseReference } from '../oci/reference.js';
import { InvalidArgument } from '../util/errors.js';
import { peek } from '../util/streams.js';
import { tempName } from '../util/atomic.js';
import { ContentStore } from '../store/content-store.js';
import { forgetLayers } from '../store/gc.js';
import type { Store } from '../store/store.js';
import { commitImage, type Committed } from './commit.js';

export interface LoadOptions {
  signal?: AbortSignal;
}

export interface Loaded extends Committed {
  tags: string[];
}

/** Small files of an archive that are read as JSON; anything bigger is not metadata. */
const MAX_META = 16 << 20;

interface Archive {
  /** Blobs of this archive, staged in tmp/ until the load succeeds: a failed load leaves none. */
  staged: ContentStore;
  /** Layers this load unpacked; removed again if the load fails. */
  createdLayers: Digest[];
  /** Paths of small metadata files → bytes. */
  files: Map<string, Buffer>;
  /** Paths of stored blobs → their digest. */
  blobs: Map<string, Digest>;
  /** Paths of layer tars unpacked straight from the archive → their diff ID. */
  layers: Map<string, Digest>;
  /** Symlinks inside the archive (docker save links repeated layers). */
  links: Map<string, string>;
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
    const archive: Archive = {
      staged: new ContentStore({ ...store.paths, blobs: stagingDir }),
      createdLayers: [],
      files: new Map(),
      blobs: new Map(),
      layers: new Map(),
      links: new Map(),
    };
    try {
      await readArchive(store, archive, source, options);
      if (archive.files.has('index.json')) return await loadOciLayout(store, archive, options);
      if (archive.files.has('manifest.json')) return await loadDockerArchive(store, archive, options);
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
      const unpacked = await store.layers.unpack(
        decompress(layerStream, detectCompression(layerHead), options),
        options,
      );
      store.meta.addLayer(unpacked);
      if (unpacked.created) archive.createdLayers.push(unpacked.diffId);
      archive.layers.set(name, unpacked.diffId);
    } else if (entry.size <= MAX_META) {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk);
      archive.files.set(name, Buffer.concat(chunks));
    }
  }
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
  const bytes = archive.files.get(name);
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
 * Unpacks every layer not yet in the store, checking it against the config's diff ID.
 * Returns the compressed blobs to keep once the image is committed.
 */
async function unpackLayers(
  store: Store,
  archive: Archive,
  layers: { digest: Digest; mediaType?: string }[],
  diffIds: Digest[],
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
    if (!store.layers.has(diffId)) {
      const { head, stream } = await peek(archive.staged.open(layer.digest, options), 4);
      const unpacked = await store.layers.unpack(decompress(stream, detectCompression(head), options), {
        expectDiffId: diffId,
        signal: options.signal,
      });
      store.meta.addLayer(unpacked);
      if (unpacked.created) archive.createdLayers.push(unpacked.diffId);
    } else if (!store.meta.layer(diffId)) {
      // Unpacked by a run that died before recording it: the directory is complete (it was
      // renamed into place), only its row is missing.
      let size = 0;
      for await (const chunk of store.layers.tar(diffId, options)) size += chunk.length;
      store.meta.addLayer({ diffId, size, entries: 0 });
    }
    const compression = layer.mediaType ? layerCompression(layer.mediaType) : undefined;
    if (compression !== undefined && compression !== 'none') {
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

/** Moves the kept layer blobs out of staging and records them: the last step before commit. */
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
  const indexBytes = archive.files.get('index.json')!;
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
    const configBytes = readBlob(archive, manifest.config.digest, `manifest ${descriptor.digest} config`);
    const config = parseImageConfig(configBytes);
    for (const layer of manifest.layers)
      readBlobPresent(archive, layer.digest, `manifest ${descriptor.digest}`);
    const blobs = await unpackLayers(store, archive, manifest.layers, config.rootfs.diff_ids, options);
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
  return archive.staged.readBytes(digest, MAX_META);
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
    const configDigest = archive.blobs.get(item.Config);
    const configBytes = configDigest
      ? archive.staged.readBytes(configDigest, MAX_META)
      : archive.files.get(item.Config);
    if (!configBytes)
      throw new InvalidArgument(`load archive: ${where}.Config: \`${item.Config}\` is not in the archive`);
    const config = parseImageConfig(configBytes);
    const diffIds = config.rootfs.diff_ids;
    if (item.Layers.length !== diffIds.length) {
      throw new InvalidArgument(
        `load archive: ${where}: ${item.Layers.length} layers but the config lists ${diffIds.length} diff IDs`,
      );
    }
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
      } else if (blob !== undefined) {
        await unpackLayers(store, archive, [{ digest: blob }], [diffIds[j]!], options);
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
