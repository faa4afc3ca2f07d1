/**
 * The public API: Engine, the one way into skiff for the CLI, the API service and any program
 * that embeds it, with the types its methods take and give, the error classes and the error
 * catalogue. Its methods are grouped in layers (engine/engine-base.ts, image-engine.ts,
 * container-engine.ts, and networks, volumes and deploys here); each delegates to the part
 * that owns the work.
 */
import type { BuildOptions } from './build/builder.js';
import { Deployer, type DeployerOptions } from './deploy/deployer.js';
import type { ReleaseDiff } from './deploy/release-diff.js';
import type { Release, ServiceSpec } from './deploy/releases.js';
import type { ServiceStatus } from './deploy/service-status.js';
import type { BuildStreamOptions } from './engine/build-stream.js';
import { ContainerEngine } from './engine/container-engine.js';
import type { DeployOptions, DeployParts, DownOptions } from './engine/deploys.js';
import type { EngineOptions } from './engine/engine-base.js';
import type {
  RegistryGcReport,
  RegistryServeOptions,
  RegistryServerHandle,
  RunningRegistry,
} from './engine/registry-server.js';
import type { SystemInfo } from './engine/system-info.js';
import type { HistoryRow, ImageInspect } from './image/inspect.js';
import type { ImageSummary } from './image/list.js';
import type { Loaded } from './image/load.js';
import type { PruneImagesResult } from './image/prune.js';
import type { PullResult } from './registry/client/pull.js';
import type { PushResult } from './registry/client/push.js';
import type { RunStreams } from './runtime/attached-run.js';
import type { ContainerArchive } from './runtime/container-archive.js';
import type { ContainerSummary } from './runtime/container-summary.js';
import type { DiskUsage } from './runtime/disk-usage.js';
import type { ExecOptions, ExecProcess, ExecStreams } from './runtime/exec.js';
import type { LogLine } from './runtime/logs.js';
import type { NetworkInfo } from './runtime/network/network-manager.js';
import type { PathStat } from './runtime/path-stat.js';
import type { PruneResult } from './runtime/prune.js';
import type { ContainerRow, CreateOptions } from './runtime/records.js';
import type { ContainerStats } from './runtime/stats.js';
import type { ProcessTable } from './runtime/top.js';
import type { VolumeInfo } from './runtime/volume-store.js';
import type { IngestLimits } from './store/ingest-limits.js';
import { DEFAULT_STORE_ROOT } from './store/paths.js';
import { Store } from './store/store.js';
import type { PruneFilters } from './util/prune-filters.js';

export const DEFAULT_ROOT = DEFAULT_STORE_ROOT;
export type { EngineOptions };

export type { ContainerRow, ContainerSummary, CreateOptions, LogLine, NetworkInfo, RunStreams, VolumeInfo };
export type { ContainerArchive, DiskUsage, PathStat, PruneFilters, PruneImagesResult, PruneResult };
export type { ContainerStats, ExecOptions, ExecProcess, ExecStreams, ProcessTable };
export type { HistoryRow, ImageInspect, ImageSummary, Loaded, PullResult, PushResult };
export type { BuildEvent } from './build/execute.js';
export { classicBuildLine } from './build/classic-output.js';
export type { ContextArchiveBuildOptions } from './build/context/context-archive.js';
export type { Credentials } from './registry/client/credentials.js';
export type { ProgressEvent } from './registry/client/progress.js';
export type { IngestLimits, SystemInfo };
export type { DeployOptions, DownOptions, Release, ReleaseDiff, ServiceSpec, ServiceStatus };
export type { BuildOptions, BuildStreamOptions };
export type { RegistryGcReport, RegistryServeOptions, RegistryServerHandle, RunningRegistry };
/** Where `skiff deploy` and `skiff down` look for a project file when given none. */
export { findProjectFile, PROJECT_FILES } from './deploy/project.js';
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
export { ERROR_CODES, type ErrorCode } from './util/error-codes.js';

/** Opened on a store with Engine.open; closed with close(). */
export class Engine extends ContainerEngine {
  static open(options: EngineOptions = {}): Engine {
    return new Engine(Store.open(options.root ?? process.env['SKIFF_ROOT'] ?? DEFAULT_ROOT), options);
  }

  // Networks and volumes ---------------------------------------------------------------------

  createNetwork(
    name: string,
    options: { subnet?: string; labels?: Record<string, string> } = {},
  ): NetworkInfo {
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

  /**
   * Puts container `container` on network `network` as well (`network connect`): recorded for
   * its next starts, and joined at once when it runs, its name and `aliases` resolving there.
   */
  async connectNetwork(
    network: string,
    container: string,
    options: { aliases?: string[]; ip?: string } = {},
  ): Promise<void> {
    const { connectContainer } = await import('./runtime/network-connect.js');
    return connectContainer(this.runtime, this.store.events, container, network, options);
  }

  /** Takes container `container` off network `network`; with `force`, one it is not on is no error. */
  async disconnectNetwork(
    network: string,
    container: string,
    options: { force?: boolean } = {},
  ): Promise<void> {
    const { disconnectContainer } = await import('./runtime/network-connect.js');
    return disconnectContainer(this.runtime, this.store.events, container, network, options);
  }

  /** Removes the user networks no container is on or names (`until`, `label` filters). */
  async pruneNetworks(filters: PruneFilters = {}): Promise<PruneResult> {
    const { pruneNetworks } = await import('./runtime/prune.js');
    return pruneNetworks(this.runtime, filters);
  }

  createVolume(name: string, options: { labels?: Record<string, string> } = {}): VolumeInfo {
    return this.runtime.volumes.create(name, { labels: options.labels });
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

  /** Removes the volumes no container names (`until`, `label` filters); the bytes they held. */
  async pruneVolumes(filters: PruneFilters = {}): Promise<PruneResult> {
    const { pruneVolumes } = await import('./runtime/prune.js');
    return pruneVolumes(this.runtime, filters);
  }

  /** What images, containers and volumes take on disk (`system df`). */
  async diskUsage(): Promise<DiskUsage> {
    const { diskUsage } = await import('./runtime/disk-usage.js');
    return diskUsage(this.runtime, this.store);
  }

  // Deploys: the bodies are in engine/deploys.ts, loaded by the verbs that use them -----------

  /** Services, releases and the proxy in front of them. */
  deployer(options: DeployerOptions = {}): Deployer {
    return new Deployer(this.store, this.runtime, options);
  }

  /** `spec` as the next release of `service`; its image is pulled first when its name says from where. */
  async deployService(service: string, spec: ServiceSpec, options: DeployOptions = {}): Promise<Release> {
    return (await import('./engine/deploys.js')).deployService(this.deployParts(), service, spec, options);
  }

  /** Every service of a project file (skiff.yaml or compose), dependencies first, each its own release. */
  async deployProject(file: string, options: DeployOptions = {}): Promise<void> {
    return (await import('./engine/deploys.js')).deployProjectFile(this.deployParts(), file, options);
  }

  /** Removes a project's services, its networks no other container uses, with `volumes` its volumes. */
  async downProject(file: string, options: DownOptions = {}): Promise<void> {
    return (await import('./engine/deploys.js')).downProjectFile(this.deployParts(), file, options);
  }

  /** What changed between two releases of a service: image layers and files, env, settings. */
  async releaseDiff(service: string, from: number, to: number): Promise<ReleaseDiff> {
    return (await import('./engine/deploys.js')).releaseDiff(this.deployParts(), service, from, to);
  }

  /** Each service's live release and its replicas' state (as HAProxy sees them, behind it). */
  async services(): Promise<ServiceStatus[]> {
    return (await import('./engine/deploys.js')).serviceStatuses(this.deployParts());
  }

  private deployParts(): DeployParts {
    return {
      store: this.store,
      runtime: this.runtime,
      deployer: (options) => this.deployer(options),
      imageId: (name) => this.imageId(name),
      pull: (name) => this.pull(name),
      build: (options) => this.build(options),
    };
  }

  // A registry server: on its own root directory, never a store, so no Engine instance --------

  /** A distribution API server (engine/registry-server.ts): bad users or keys fail here, before it listens. */
  static async registryServer(options: RegistryServeOptions): Promise<RegistryServerHandle> {
    return (await import('./engine/registry-server.js')).registryServer(options);
  }

  /** A new token signing key (PKCS#8 PEM) for the processes of one registry to share. */
  static async newRegistryTokenKey(): Promise<string> {
    return (await import('./engine/registry-server.js')).newRegistryTokenKey();
  }

  /** Removes a registry's unreferenced blobs (younger than `graceMs` stay); safe while it serves. */
  static async collectRegistryGarbage(
    root: string,
    options: { dryRun?: boolean; graceMs?: number } = {},
  ): Promise<RegistryGcReport> {
    return (await import('./engine/registry-server.js')).collectRegistryGarbage(root, options);
  }
}
