/**
 * Engine's container methods: create, run, start (attached or not), exec, logs, stop, remove,
 * wait, pause, stats and top, files in and out (`cp`), and what conmon's exit command and the
 * supervisor call back into.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runAttached, startAttached, type RunStreams } from '../runtime/attached-run.js';
import type { ContainerArchive } from '../runtime/container-archive.js';
import type { ContainerSummary } from '../runtime/container-summary.js';
import type { ExecOptions, ExecProcess, ExecStreams } from '../runtime/exec.js';
import type { LogLine } from '../runtime/logs.js';
import type { PathStat } from '../runtime/path-stat.js';
import { isPaused } from '../runtime/pause.js';
import type { PruneResult } from '../runtime/prune.js';
import type { ContainerRow, CreateOptions } from '../runtime/records.js';
import type { Runtime } from '../runtime/runtime.js';
import { containerStats, type ContainerStats } from '../runtime/stats.js';
import { supervise } from '../runtime/supervisor.js';
import { containerTop, type ProcessTable } from '../runtime/top.js';
import type { PruneFilters } from '../util/prune-filters.js';
import { ImageEngine } from './image-engine.js';

export abstract class ContainerEngine extends ImageEngine {
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
   * process records the exit, so it must stay up until `exited` settles. One that cannot
   * start is removed, unless `keepOnFailure` (`skiff start -a`).
   */
  async startContainerAttached(
    name: string,
    streams: RunStreams,
    options: { keepOnFailure?: boolean } = {},
  ): Promise<{ exited: Promise<number> }> {
    const row = this.runtime.inspect(name);
    return startAttached(this.runtime, row.id, streams, {
      rm: row.options.rm,
      keepOnFailure: options.keepOnFailure,
      onRemoveError: (err) => this.options.notice?.(`remove container ${row.name}: ${err.message}`),
    });
  }

  containers(options: { all?: boolean } = {}): ContainerSummary[] {
    return this.runtime.list(options);
  }

  /** A container's row and options; `paused` while its processes are frozen. */
  container(name: string): ContainerRow & { options: CreateOptions; paused: boolean } {
    const row = this.runtime.inspect(name);
    return { ...row, paused: isPaused(row) };
  }

  logs(
    name: string,
    options: { follow?: boolean; tail?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<LogLine> {
    return this.runtime.logs(name, options);
  }

  /** Runs a command in a running container with this process's stdio; its exit status. */
  exec(name: string, command: string[], options: ExecOptions = {}): Promise<number> {
    return this.runtime.exec(name, command, options);
  }

  /**
   * Starts `command` in running container `name`, joined to `streams` (none: it runs on its
   * own). Resolves once it runs, with its pid and `exited`: its exit status once it has exited
   * and its output has all been written to `stdout` and `stderr`, which are then ended — 127
   * or 126 when the command does not exist or cannot run, the reason written to stderr. A
   * stream that stops reading holds the command back; one that was closed is skipped. The
   * end of `stdin` is the command's EOF; with a tty, `resize` sets its window size.
   */
  startExec(
    name: string,
    command: string[],
    options: ExecOptions & { streams?: ExecStreams } = {},
  ): Promise<ExecProcess> {
    const { streams, ...rest } = options;
    return this.runtime.startExec(name, command, rest, streams ?? {});
  }

  /** The window size of a running container's tty (none: nothing happens). */
  resizeContainer(name: string, rows: number, cols: number): void {
    this.runtime.resize(name, rows, cols);
  }

  /** A new name; the container's peers on user networks resolve it at once. */
  renameContainer(name: string, newName: string): ContainerRow {
    return this.runtime.rename(name, newName);
  }

  /** A running container's processes as `ps` (default `-ef`) lists them, columns split. */
  async top(name: string, options: { psArgs?: string } = {}): Promise<ProcessTable> {
    return containerTop(this.runtime.running(name, 'top'), options.psArgs);
  }

  /**
   * Readings of a container's resource use, the first at once and then one every `interval`
   * ms (default 1000) until the signal or until it is not running (none if it is not).
   */
  async *stats(
    name: string,
    options: { interval?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<ContainerStats> {
    const id = this.runtime.inspect(name).id;
    while (!options.signal?.aborted) {
      const reading = containerStats(this.runtime.inspect(id));
      if (!reading) return;
      yield reading;
      try {
        await sleep(options.interval ?? 1000, undefined, { signal: options.signal });
      } catch {
        return;
      }
    }
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

  /**
   * Removes every container that is not running (of those `filters` pick: `until`, `label`,
   * `label!`); their IDs and the bytes their writable layers held.
   */
  async pruneContainers(filters: PruneFilters = {}): Promise<PruneResult> {
    const { pruneContainers } = await import('../runtime/prune.js');
    return pruneContainers(this.runtime, filters);
  }

  /** Freezes a running container's processes (the OCI runtime's `pause`). */
  async pause(name: string): Promise<void> {
    const { pauseContainer } = await import('../runtime/pause.js');
    pauseContainer(this.runtime, this.store.events, name);
  }

  async unpause(name: string): Promise<void> {
    const { unpauseContainer } = await import('../runtime/pause.js');
    unpauseContainer(this.runtime, this.store.events, name);
  }

  // Files in containers (`cp`, the archive endpoints): running or not; a running container is
  // paused while its files are read or written (runtime/container-root.ts says why).

  /** What `pathInContainer` is (Docker's path stat); NotFound when it does not exist. */
  async containerPathStat(name: string, pathInContainer: string): Promise<PathStat> {
    const { statContainerPath } = await import('../runtime/container-archive.js');
    return statContainerPath(this.runtime, this.store, name, pathInContainer);
  }

  /**
   * A tar of `pathInContainer` in the container, its top entry named by the path's base name. The
   * container stays open until the tar has been read to its end, or `close()`.
   */
  async containerArchive(
    name: string,
    pathInContainer: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<ContainerArchive> {
    const { archiveContainerPath } = await import('../runtime/container-archive.js');
    return archiveContainerPath(this.runtime, this.store, name, pathInContainer, options);
  }

  /**
   * Extracts a tar into the directory `pathInContainer` of the container; nothing lands
   * outside its root. Files are root's unless `copyUIDGID` keeps the archive's owners.
   */
  async extractToContainer(
    name: string,
    pathInContainer: string,
    tar: AsyncIterable<Buffer>,
    options: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    const { extractToContainer } = await import('../runtime/container-archive.js');
    return extractToContainer(this.runtime, this.store, name, pathInContainer, tar, options);
  }

  /** `cp CONTAINER:PATH HOSTPATH`. */
  async copyFromContainer(name: string, pathInContainer: string, hostPath: string): Promise<void> {
    const { copyFromContainer } = await import('../runtime/container-archive.js');
    return copyFromContainer(this.runtime, this.store, name, pathInContainer, hostPath);
  }

  /** `cp HOSTPATH CONTAINER:PATH`; what lands in the container is root's, as with `docker cp`. */
  async copyToContainer(hostPath: string, name: string, pathInContainer: string): Promise<void> {
    const { copyToContainer } = await import('../runtime/container-archive.js');
    return copyToContainer(this.runtime, this.store, hostPath, name, pathInContainer);
  }

  /** conmon's exit command for a detached container: record the exit, --rm, restart policy. */
  cleanupContainer(id: string, run?: string): Promise<void> {
    return this.runtime.cleanup(id, run);
  }

  /**
   * The per-host supervisor (health checks, log rotation, the end of deploys' warm windows);
   * returns when it is idle. It runs while any container does — a warm release's too — so it
   * ends each window on time without a daemon of its own.
   */
  supervise(): Promise<void> {
    let ending: Promise<unknown> | undefined;
    const endWarmWindows = () => {
      if (ending) return;
      ending = import('../deploy/deployer.js')
        .then(({ Deployer }) => new Deployer(this.store, this.runtime).endWarmWindows())
        // A failure (HAProxy busy, a service locked) is tried again on a later tick.
        .catch(() => undefined)
        .finally(() => (ending = undefined));
    };
    return supervise(this.runtime, this.store.paths.root, { everyTick: endWarmWindows });
  }

  /** At boot: containers whose restart policy wants them running are started. */
  boot(): ReturnType<Runtime['boot']> {
    return this.runtime.boot();
  }
}
