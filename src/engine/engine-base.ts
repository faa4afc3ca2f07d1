/**
 * What every group of Engine's methods shares: the store, the runtime (made on first use, so
 * image commands never touch containers), the engine's options, and the methods about the
 * store as a whole (info, events, check, prune, reset). Engine is built up in layers, one file
 * per group — images (image-engine.ts), containers (container-engine.ts), then networks,
 * volumes and deploys in engine.ts — so that no file holds all of it; callers see one class.
 */
import { checkStore, type CheckReport } from '../store/check.js';
import { eventFilter, type SkiffEvent } from '../store/events.js';
import { collectGarbage, type CollectResult } from '../store/gc.js';
import type { Store } from '../store/store.js';
import { Runtime } from '../runtime/runtime.js';
import { parseTimestamp } from '../util/timestamps.js';
import { recordImageEvent } from './image-events.js';
import { resetStore } from './reset.js';
import { skiffBin } from './skiff-bin.js';
import { systemInfo, type SystemInfo } from './system-info.js';

export interface EngineOptions {
  /** Store root; default SKIFF_ROOT or /var/lib/skiff. */
  root?: string;
  /** One-line notices for the user (a runtime fallback, say); default: ignored. */
  notice?: (text: string) => void;
}

export abstract class EngineBase {
  private runtimeInstance: Runtime | undefined;
  private closed = false;

  // The store and the runtime are Engine's own: callers (the CLI, the API service, programs
  // embedding skiff) get at them only through its methods.
  protected constructor(
    protected readonly store: Store,
    protected readonly options: EngineOptions,
  ) {}

  /** Containers, networks and volumes; made on first use so image commands never touch them. */
  protected get runtime(): Runtime {
    this.runtimeInstance ??= new Runtime(this.store, {
      // `--` stops node reading options of ours (`--env-file`) as its own.
      skiffCommand: [process.execPath, '--', skiffBin(), '--root', this.store.paths.root],
      notice: this.options.notice,
    });
    return this.runtimeInstance;
  }

  /** The store's root directory. */
  get root(): string {
    return this.store.paths.root;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.close();
  }

  /**
   * What this host gives skiff: the store, the OCI runtime a container would get (choosing it
   * applies the cgroup fix crun needs on a hybrid host, as `run` would) and where each outside
   * program is, or null where it is missing.
   */
  info(options: { runtime?: string } = {}): SystemInfo {
    return systemInfo(this.store.paths.root, options);
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
    return resetStore(this.store.paths.root, this.runtime, () => this.close());
  }

  /** Records an image event; the store is already changed, so a failure to record is no error. */
  protected imageEvent(action: string, id: string, name?: string): void {
    try {
      recordImageEvent(this.store, action, id, name);
    } catch (err) {
      this.options.notice?.(`record event: ${(err as Error).message}`);
    }
  }
}
