/** Engine's image methods: build, import, list, tag, inspect, save and load, remove, pull and push. */
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { BuildOptions } from '../build/builder.js';
import type { ContextArchiveBuildOptions } from '../build/context/context-archive.js';
import { importRootfs, type ImportOptions } from '../image/import.js';
import { resolveImage, tagName } from '../image/image.js';
import { imageHistory, inspectImage, type HistoryRow, type ImageInspect } from '../image/inspect.js';
import { listImages, type ImageSummary } from '../image/list.js';
import type { Loaded, LoadOptions } from '../image/load.js';
import type { PruneImagesResult } from '../image/prune.js';
import { removeImages, type RemoveResult } from '../image/remove.js';
import type { SaveOptions } from '../image/save.js';
import type { Digest } from '../oci/digest.js';
import type { ClientOptions } from '../registry/client/client.js';
import type { Credentials } from '../registry/client/credentials.js';
import type { PullOptions, PullResult } from '../registry/client/pull.js';
import type { PushOptions, PushResult } from '../registry/client/push.js';
import { ingestLimits } from '../store/ingest-limits.js';
import type { PruneFilters } from '../util/prune-filters.js';
import type { BuildStreamOptions } from './build-stream.js';
import { EngineBase } from './engine-base.js';
import { withClient } from './registry-client.js';

export abstract class ImageEngine extends EngineBase {
  /** A Dockerfile and its context become an image; returns its ID. */
  async build(options: BuildOptions): Promise<Digest> {
    // The builder, the registry client, save and load are loaded by the calls that use them:
    // every command is a new process, and `run` or `ps` should not parse the builder.
    const { buildImage } = await import('../build/builder.js');
    const id = await buildImage(this.store, this.runtime, {
      fetch: async (name) => (await this.pull(name)).imageId,
      ...options,
    });
    for (const name of options.tags ?? []) this.imageEvent('tag', id, tagName(name));
    return id;
  }

  /**
   * A build whose context arrives as a tar stream (plain, gzip, bzip2, xz or zstd), as the
   * Docker API's `POST /build` sends it: unpacked into a directory of its own under the
   * store's tmp/ (no entry reaches outside it; at most the store's layer size limit), built
   * with the Dockerfile it holds, and removed again whatever happens.
   */
  async buildContextArchive(
    source: AsyncIterable<Buffer>,
    options: ContextArchiveBuildOptions,
  ): Promise<Digest> {
    const { withContextArchive } = await import('../build/context/context-archive.js');
    const { dockerfilePath, credentials, signal, ...build } = options;
    return withContextArchive(
      source,
      {
        tmp: this.store.paths.tmp,
        maxBytes: ingestLimits(this.store.paths.root).maxLayerSize,
        dockerfilePath,
        signal,
      },
      (context, dockerfile, dockerfileName) =>
        this.build({
          // Images FROM names are fetched with the caller's credentials, not the stored ones.
          fetch: async (name) => (await this.pull(name, { credentials, signal })).imageId,
          ...build,
          context,
          dockerfile,
          dockerfileName,
        }),
    );
  }

  /** `build -`: a stream that is a context archive (engine/build-stream.ts) or else a Dockerfile. */
  async buildStream(source: AsyncIterable<Buffer>, options: BuildStreamOptions): Promise<Digest> {
    const { buildStream } = await import('./build-stream.js');
    return buildStream(
      {
        tmp: this.store.paths.tmp,
        buildContextArchive: (s, o) => this.buildContextArchive(s, o),
        build: (o) => this.build(o),
      },
      source,
      options,
    );
  }

  /** Imports a rootfs tarball (a path, or a stream) as a one-layer image. */
  async import(
    source: string | AsyncIterable<Buffer>,
    options: Omit<ImportOptions, 'tags'> & { tag?: string } = {},
  ) {
    const stream =
      typeof source === 'string' ? fs.createReadStream(source, { highWaterMark: 1 << 20 }) : source;
    const tags = options.tag ? [tagName(options.tag)] : [];
    const imported = await importRootfs(this.store, stream, { ...options, tags });
    this.imageEvent('import', imported.id, tags[0]);
    return imported;
  }

  /** Every image, or those `reference` names (any tag of a repository, or one tag). */
  images(options: { reference?: string } = {}): ImageSummary[] {
    return listImages(this.store, options);
  }

  async tag(source: string, target: string): Promise<void> {
    const name = tagName(target);
    await this.store.locked('shared', () => {
      const resolved = resolveImage(this.store, source);
      this.store.meta.setTag(name, resolved.manifestDigest);
      this.imageEvent('tag', resolved.imageId, name);
    });
  }

  inspect(input: string): ImageInspect {
    return inspectImage(this.store, input);
  }

  history(input: string): HistoryRow[] {
    return imageHistory(this.store, input);
  }

  async save(inputs: string[], output: string | Writable, options: SaveOptions = {}): Promise<void> {
    const { saveImages } = await import('../image/save.js');
    return saveImages(this.store, inputs, output, options);
  }

  async load(source: string | AsyncIterable<Buffer>, options: LoadOptions = {}): Promise<Loaded[]> {
    const stream =
      typeof source === 'string' ? fs.createReadStream(source, { highWaterMark: 1 << 20 }) : source;
    const { loadArchive } = await import('../image/load.js');
    const loaded = await loadArchive(this.store, stream, options);
    for (const image of loaded) this.imageEvent('load', image.id, image.tags[0]);
    return loaded;
  }

  async removeImages(inputs: string[], options: { force?: boolean } = {}): Promise<RemoveResult> {
    const result = await removeImages(this.store, inputs, options);
    for (const name of result.untagged) this.imageEvent('untag', name, name);
    for (const id of result.deleted) this.imageEvent('delete', id);
    return result;
  }

  /**
   * `image prune`: unused images go, only dangling ones (no tag) unless `filters` say
   * `dangling=false`; `until` and `label` narrow the choice. Containers keep their images.
   */
  async pruneImages(filters: PruneFilters = {}): Promise<PruneImagesResult> {
    const { pruneImages } = await import('../image/prune.js');
    const result = await pruneImages(this.store, filters);
    for (const name of result.untagged) this.imageEvent('untag', name, name);
    for (const id of result.deleted) this.imageEvent('delete', id);
    return result;
  }

  imageId(input: string): Digest {
    return resolveImage(this.store, input).imageId;
  }

  /** Fetches an image from its registry; only layers the store lacks are downloaded. */
  async pull(reference: string, options: PullOptions & ClientOptions = {}): Promise<PullResult> {
    const pulled = await withClient(options, (client) => client.pull(this.store, reference, options));
    this.imageEvent('pull', pulled.reference, pulled.reference);
    return pulled;
  }

  /** Sends local image `source` to `target` (default: its own name); only missing blobs travel. */
  async push(
    source: string,
    target?: string,
    options: PushOptions & ClientOptions = {},
  ): Promise<PushResult> {
    const pushed = await withClient(options, (client) => client.push(this.store, source, target, options));
    this.imageEvent('push', pushed.reference, pushed.reference);
    return pushed;
  }

  /** Checks credentials against the registry and stores them as Docker does; returns where. */
  async login(registry: string, credentials: Credentials, options: ClientOptions = {}): Promise<string> {
    return withClient(options, (client) => client.login(registry, credentials));
  }

  /**
   * Checks credentials against the registry without storing them (the API service's `/auth`:
   * the client keeps them and sends them with each pull and push). Returns the registry's name.
   */
  async checkLogin(registry: string, credentials: Credentials, options: ClientOptions = {}): Promise<string> {
    return withClient(options, (client) => client.verify(registry, credentials));
  }

  /** Forgets a registry's credentials; false when none were stored. */
  async logout(registry: string): Promise<boolean> {
    return withClient({}, (client) => client.logout(registry));
  }
}
