/**
 * The public API: what a TypeScript program (and skiff's own CLI) calls. Each method opens
 * nothing itself beyond the store it was given and delegates to the part that owns the work.
 */
import type { BuildOptions } from './build/builder.js';
import { Deployer, type DeployerOptions } from './deploy/deployer.js';
import { Proxy } from './deploy/proxy.js';
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { Digest } from './oci/digest.js';
import { importRootfs, type ImportOptions } from './image/import.js';
import { listImages, type ImageSummary } from './image/list.js';
import type { Loaded, LoadOptions } from './image/load.js';
import type { SaveOptions } from './image/save.js';
import { removeImages, type RemoveResult } from './image/remove.js';
import { imageHistory, inspectImage, type HistoryRow, type ImageInspect } from './image/inspect.js';
import { resolveImage, tagName } from './image/image.js';
import { checkStore, type CheckReport } from './store/check.js';
import { collectGarbage, type CollectResult } from './store/gc.js';
import { Store } from './store/store.js';
import { DEFAULT_STORE_ROOT } from './store/paths.js';
import { Runtime } from './runtime/runtime.js';
import { chooseRuntime, hybridControllers, type RuntimeName } from './runtime/oci-runtime.js';
import { findProgram, PROGRAMS, type ProgramName } from './util/programs.js';
import { stopSupervisor } from './runtime/supervisor.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientOptions, RegistryClient } from './registry/client/client.js';
import type { Credentials } from './registry/client/credentials.js';
import type { PullOptions, PullResult } from './registry/client/pull.js';
import type { PushOptions, PushResult } from './registry/client/push.js';

export const DEFAULT_ROOT = DEFAULT_STORE_ROOT;

export interface EngineOptions {
  /** Store root; default SKIFF_ROOT or /var/lib/skiff. */
  root?: string;
  /** One-line notices for the user (a runtime fallback, say); default: ignored. */
  notice?: (text: string) => void;
}

/**
 * bin/skiff.js of the package this code was loaded from (the module tree in dist/src/ or the
 * bundle in dist/), for the commands conmon runs after the CLI has exited.
 */
function skiffBin(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const bin = path.join(dir, 'bin', 'skiff.js');
    if (fs.existsSync(bin)) return bin;
    if (path.dirname(dir) === dir) return path.resolve('bin/skiff.js');
  }
}

export interface SystemInfo {
  root: string;
  runtime: { name: RuntimeName; path: string; notice: string | null };
  cgroups: string;
  kernel: string;
  programs: Record<ProgramName, string | null>;
}

export class Engine {
  readonly store: Store;
  private runtimeInstance: Runtime | undefined;
  private closed = false;

  private constructor(
    store: Store,
    private readonly options: EngineOptions,
  ) {
    this.store = store;
  }

  static open(options: EngineOptions = {}): Engine {
    return new Engine(Store.open(options.root ?? process.env['SKIFF_ROOT'] ?? DEFAULT_ROOT), options);
  }

  /** Containers, networks and volumes; made on first use so image commands never touch them. */
  get runtime(): Runtime {
    this.runtimeInstance ??= new Runtime(this.store, {
      // `--` stops node reading options of ours (`--env-file`) as its own.
      skiffCommand: [process.execPath, '--', skiffBin(), '--root', this.store.paths.root],
      notice: this.options.notice,
    });
    return this.runtimeInstance;
  }

  /** A Dockerfile and its context become an image; returns its ID. */
  async build(options: BuildOptions): Promise<Digest> {
    // The builder, the registry client, save and load are loaded by the calls that use them:
    // every command is a new process, and `run` or `ps` should not parse the builder.
    const { buildImage } = await import('./build/builder.js');
    return buildImage(this.store, this.runtime, {
      fetch: async (name) => (await this.pull(name)).imageId,
      ...options,
    });
  }

  /** Services, releases and the proxy in front of them. */
  deployer(options: DeployerOptions = {}): Deployer {
    return new Deployer(this.store, this.runtime, options);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.close();
  }

  /** Imports a rootfs tarball (a path, or a stream) as a one-layer image. */
  async import(
    source: string | AsyncIterable<Buffer>,
    options: Omit<ImportOptions, 'tags'> & { tag?: string } = {},
  ) {
    const stream =
      typeof source === 'string' ? fs.createReadStream(source, { highWaterMark: 1 << 20 }) : source;
    const tags = options.tag ? [tagName(options.tag)] : [];
    return importRootfs(this.store, stream, { ...options, tags });
  }

  /**
   * What this host gives skiff: the store, the OCI runtime a container would get (choosing it
   * applies the cgroup fix crun needs on a hybrid host, as `run` would) and where each outside
   * program is, or null where it is missing.
   */
  info(options: { runtime?: string } = {}): SystemInfo {
    const choice = chooseRuntime(options.runtime);
    const programs = {} as Record<ProgramName, string | null>;
    for (const name of Object.keys(PROGRAMS) as ProgramName[]) programs[name] = findProgram(name) ?? null;
    return {
      root: this.store.paths.root,
      runtime: { name: choice.name, path: choice.path, notice: choice.notice ?? null },
      cgroups: fs.existsSync('/sys/fs/cgroup/cgroup.controllers')
        ? 'v2'
        : fs.existsSync('/sys/fs/cgroup/unified')
          ? `hybrid (cgroup2 controllers: ${hybridControllers('/sys/fs/cgroup').join(' ') || 'none'})`
          : 'v1',
      kernel: os.release(),
      programs,
    };
  }

  images(): ImageSummary[] {
    return listImages(this.store);
  }

  async tag(source: string, target: string): Promise<void> {
    const name = tagName(target);
    await this.store.locked('shared', () => {
      const resolved = resolveImage(this.store, source);
      this.store.meta.setTag(name, resolved.manifestDigest);
    });
  }

  inspect(input: string): ImageInspect {
    return inspectImage(this.store, input);
  }

  history(input: string): HistoryRow[] {
    return imageHistory(this.store, input);
  }

  async save(inputs: string[], output: string | Writable, options: SaveOptions = {}): Promise<void> {
    const { saveImages } = await import('./image/save.js');
    return saveImages(this.store, inputs, output, options);
  }

  async load(source: string | AsyncIterable<Buffer>, options: LoadOptions = {}): Promise<Loaded[]> {
    const stream =
      typeof source === 'string' ? fs.createReadStream(source, { highWaterMark: 1 << 20 }) : source;
    const { loadArchive } = await import('./image/load.js');
    return loadArchive(this.store, stream, options);
  }

  async removeImages(inputs: string[], options: { force?: boolean } = {}): Promise<RemoveResult> {
    return removeImages(this.store, inputs, options);
  }

  async check(options: { signal?: AbortSignal } = {}): Promise<CheckReport> {
    return this.store.locked('shared', () => checkStore(this.store, options));
  }

  /** Removes untagged images, unreferenced layers and blobs, and temp files left by crashes. */
  async prune(): Promise<CollectResult> {
    return this.store.locked('exclusive', () => collectGarbage(this.store, { dangling: true, temp: true }));
  }

  /**
   * Removes everything in the store: containers (forced), networks with their bridges and
   * nftables table, volumes, images, and then the store directory itself. The engine is closed
   * afterwards.
   */
  async reset(): Promise<void> {
    const runtime = this.runtime;
    new Proxy(this.store.paths.root).stop();
    await stopSupervisor(this.store.paths.root);
    for (const c of runtime.list({ all: true })) await runtime.remove(c.id, { force: true });
    runtime.networks.reset();
    for (const v of runtime.volumes.list()) runtime.volumes.remove(v.name, { force: true });
    const root = this.store.paths.root;
    this.close();
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  }

  imageId(input: string): Digest {
    return resolveImage(this.store, input).imageId;
  }

  /** Fetches an image from its registry; only layers the store lacks are downloaded. */
  async pull(reference: string, options: PullOptions & ClientOptions = {}): Promise<PullResult> {
    return withClient(options, (client) => client.pull(this.store, reference, options));
  }

  /** Sends local image `source` to `target` (default: its own name); only missing blobs travel. */
  async push(
    source: string,
    target?: string,
    options: PushOptions & ClientOptions = {},
  ): Promise<PushResult> {
    return withClient(options, (client) => client.push(this.store, source, target, options));
  }

  /** Checks credentials against the registry and stores them as Docker does; returns where. */
  async login(registry: string, credentials: Credentials, options: ClientOptions = {}): Promise<string> {
    return withClient(options, (client) => client.login(registry, credentials));
  }

  /** Forgets a registry's credentials; false when none were stored. */
  async logout(registry: string): Promise<boolean> {
    return withClient({}, (client) => client.logout(registry));
  }
}

/** A client for one call: its keep-alive connections close with it. */
async function withClient<T>(options: ClientOptions, fn: (client: RegistryClient) => Promise<T>): Promise<T> {
  const { RegistryClient } = await import('./registry/client/client.js');
  const client = new RegistryClient({ insecure: options.insecure, retryDelay: options.retryDelay });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
