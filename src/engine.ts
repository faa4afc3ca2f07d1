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
import { eventFilter, type SkiffEvent } from './store/events.js';
import { parseTimestamp } from './util/timestamps.js';
import { familiarString, parseReference } from './oci/reference.js';
import { DEFAULT_STORE_ROOT } from './store/paths.js';
import { ingestLimits, type IngestLimits } from './store/ingest-limits.js';
import { settingsPath } from './store/settings.js';
import { Runtime } from './runtime/runtime.js';
import { runAttached, startAttached, type RunStreams } from './runtime/attached-run.js';
import type { ContainerRow, CreateOptions } from './runtime/records.js';
import type { ContainerSummary } from './runtime/container-summary.js';
import type { LogLine } from './runtime/logs.js';
import type { NetworkInfo } from './runtime/network/network-manager.js';
import type { VolumeInfo } from './runtime/volume-store.js';
import { supervise } from './runtime/supervisor.js';
import { chooseRuntime, hybridControllers, type RuntimeName } from './runtime/oci-runtime.js';
import { findProgram, PROGRAMS, type ProgramName } from './util/programs.js';
import { errnoCode } from './util/errors.js';
import { stopSupervisor } from './runtime/supervisor.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientOptions, RegistryClient } from './registry/client/client.js';
import type { Credentials } from './registry/client/credentials.js';
import type { PullOptions, PullResult } from './registry/client/pull.js';
import type { PushOptions, PushResult } from './registry/client/push.js';

export const DEFAULT_ROOT = DEFAULT_STORE_ROOT;

export type { ContainerRow, ContainerSummary, CreateOptions, LogLine, NetworkInfo, RunStreams, VolumeInfo };
export { asDockerEvent, type DockerEvent, type SkiffEvent } from './store/events.js';
export {
  AlreadyExists,
  DataLoss,
  FailedPrecondition,
  InvalidArgument,
  NotFound,
  SkiffError,
  Unavailable,
  type ErrorCategory,
} from './util/errors.js';

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
  /** The ingest limits in effect (store/ingest-limits.ts) and the file that sets them. */
  limits: IngestLimits & { settings: string };
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
    const id = await buildImage(this.store, this.runtime, {
      fetch: async (name) => (await this.pull(name)).imageId,
      ...options,
    });
    for (const name of options.tags ?? []) this.imageEvent('tag', id, tagName(name));
    return id;
  }

  // Containers -------------------------------------------------------------------------------

  /** Records a container; nothing runs yet. Bad options fail here, before anything exists. */
  createContainer(options: CreateOptions): ContainerRow {
    return this.runtime.create(options);
  }

  /**
   * `run`: creates the container and starts it. Detached, it resolves once the container runs
   * (removing it again if it cannot start); attached to `streams`, once it exits, to its exit
   * status, and with `rm` the container is removed afterwards.
   */
  async run(
    options: CreateOptions,
    how: { detach: true } | { detach?: false; streams: RunStreams; onRemoveError?: (err: Error) => void },
  ): Promise<{ id: string; exitCode?: number }> {
    const row = this.runtime.create(options);
    if (how.detach) {
      try {
        await this.runtime.start(row.id);
      } catch (err) {
        await this.runtime.remove(row.id, { force: true });
        throw err;
      }
      return { id: row.id };
    }
    const exitCode = await runAttached(this.runtime, row.id, how.streams, {
      rm: options.rm,
      onRemoveError: how.onRemoveError,
    });
    return { id: row.id, exitCode };
  }

  async startContainer(name: string): Promise<ContainerRow> {
    return this.runtime.start(name);
  }

  /**
   * Starts a created container with `streams` joined before its process runs (the API
   * service's attach-then-start). Resolves once it runs; `exited` resolves to its exit status
   * after its output has all arrived and the exit is recorded, and, when it was created with
   * `rm`, after it is removed. An attached run has no conmon exit command: the caller's
   * process records the exit, so it must stay up until `exited` settles.
   */
  async startContainerAttached(name: string, streams: RunStreams): Promise<{ exited: Promise<number> }> {
    const row = this.runtime.inspect(name);
    return startAttached(this.runtime, row.id, streams, {
      rm: row.options.rm,
      onRemoveError: (err) => this.options.notice?.(`remove container ${row.name}: ${err.message}`),
    });
  }

  containers(options: { all?: boolean } = {}): ContainerSummary[] {
    return this.runtime.list(options);
  }

  container(name: string): ContainerRow & { options: CreateOptions } {
    return this.runtime.inspect(name);
  }

  logs(
    name: string,
    options: { follow?: boolean; tail?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<LogLine> {
    return this.runtime.logs(name, options);
  }

  /** Runs a command in a running container with this process's stdio; its exit status. */
  exec(
    name: string,
    command: string[],
    options: { tty?: boolean; env?: string[]; user?: string; workdir?: string } = {},
  ): Promise<number> {
    return this.runtime.exec(name, command, options);
  }

  /** The stop signal, then SIGKILL after `timeout` seconds (the container's own, or 10). */
  async stop(name: string, timeout?: number): Promise<ContainerRow> {
    return this.runtime.stop(name, timeout);
  }

  async restart(name: string, timeout?: number): Promise<ContainerRow> {
    await this.runtime.stop(name, timeout);
    return this.runtime.start(name);
  }

  kill(name: string, signal = 'KILL'): void {
    this.runtime.kill(name, signal);
  }

  async removeContainer(name: string, options: { force?: boolean } = {}): Promise<ContainerRow> {
    return this.runtime.remove(name, options);
  }

  /** Resolves to the container's exit status once it is not running. */
  wait(name: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.runtime.wait(name, options);
  }

  /** Removes every container that is not running; their IDs. */
  async pruneContainers(): Promise<string[]> {
    const removed: string[] = [];
    for (const c of this.runtime.list({ all: true })) {
      if (c.state === 'running') continue;
      await this.runtime.remove(c.id);
      removed.push(c.id);
    }
    return removed;
  }

  /** conmon's exit command for a detached container: record the exit, --rm, restart policy. */
  cleanupContainer(id: string, run?: string): Promise<void> {
    return this.runtime.cleanup(id, run);
  }

  /** The per-host supervisor (health checks, log rotation); returns when it is idle. */
  supervise(): Promise<void> {
    return supervise(this.runtime, this.store.paths.root);
  }

  /** At boot: containers whose restart policy wants them running are started. */
  boot(): ReturnType<Runtime['boot']> {
    return this.runtime.boot();
  }

  // Networks and volumes ---------------------------------------------------------------------

  createNetwork(name: string, options: { subnet?: string } = {}): NetworkInfo {
    return this.runtime.networks.create(name, options);
  }

  networks(): NetworkInfo[] {
    return this.runtime.networks.list();
  }

  network(name: string): NetworkInfo {
    return this.runtime.networks.inspect(name);
  }

  removeNetwork(name: string): void {
    this.runtime.networks.remove(name);
  }

  createVolume(name: string): VolumeInfo {
    return this.runtime.volumes.create(name);
  }

  volumes(): VolumeInfo[] {
    return this.runtime.volumes.list();
  }

  volume(name: string): VolumeInfo {
    return this.runtime.volumes.inspect(name);
  }

  removeVolume(name: string, options: { force?: boolean } = {}): void {
    this.runtime.volumes.remove(name, options);
  }

  /** The store's root directory. */
  get root(): string {
    return this.store.paths.root;
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
    const imported = await importRootfs(this.store, stream, { ...options, tags });
    this.imageEvent('import', imported.id, tags[0]);
    return imported;
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
      limits: { ...ingestLimits(this.store.paths.root), settings: settingsPath(this.store.paths.root) },
    };
  }

  /**
   * What happened in the store, as any skiff process recorded it: the events since `since`
   * (none without it), then each new one as it is recorded, until `until` or the signal.
   * Times are Unix seconds, dates, RFC 3339 times or durations back from now; `filters` are
   * Docker's (type, event, container, image, network, volume, label).
   */
  events(
    options: {
      since?: string;
      until?: string;
      filters?: Record<string, string[]>;
      signal?: AbortSignal;
    } = {},
  ): AsyncGenerator<SkiffEvent> {
    const now = Date.now();
    return this.store.events.follow({
      sinceNano: options.since === undefined ? undefined : parseTimestamp(options.since, 'since', now),
      untilNano: options.until === undefined ? undefined : parseTimestamp(options.until, 'until', now),
      filter: eventFilter(options.filters ?? {}),
      signal: options.signal,
    });
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
    const { saveImages } = await import('./image/save.js');
    return saveImages(this.store, inputs, output, options);
  }

  async load(source: string | AsyncIterable<Buffer>, options: LoadOptions = {}): Promise<Loaded[]> {
    const stream =
      typeof source === 'string' ? fs.createReadStream(source, { highWaterMark: 1 << 20 }) : source;
    const { loadArchive } = await import('./image/load.js');
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
    // A supervisor that `run -d` started a moment ago may only now open the store (its pid file
    // came after the stop above) and write into it while it is removed: stop it and try again.
    for (let attempt = 1; ; attempt++) {
      try {
        fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
        return;
      } catch (err) {
        if (errnoCode(err) !== 'ENOTEMPTY' || attempt >= 10) throw err;
        await stopSupervisor(root);
      }
    }
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

  /** Records an image event; the store is already changed, so a failure to record is no error. */
  private imageEvent(action: string, id: string, name?: string): void {
    try {
      const attributes: Record<string, string> = name ? { name: familiar(name) } : {};
      this.store.events.record({
        type: 'image',
        action,
        id: id.includes(':') && !id.startsWith('sha') ? familiar(id) : id,
        attributes,
      });
    } catch (err) {
      this.options.notice?.(`record event: ${(err as Error).message}`);
    }
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

/** `busybox:latest` for `docker.io/library/busybox:latest`, as Docker shows names. */
function familiar(name: string): string {
  try {
    return familiarString(parseReference(name));
  } catch {
    return name;
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
