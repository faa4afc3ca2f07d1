/**
 * Container lifecycle: create, start (overlay root, network, spec, conmon), wait, stop, kill,
 * remove, list, exec. State lives in SQLite and in the container's directory; a running
 * container is only trusted while its conmon is alive (pid and start time both match), so a
 * crash anywhere leaves `ps` correct.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readImage, resolveImage } from '../image/image.js';
import type { ContainerConfig } from '../oci/config.js';
import type { Store } from '../store/store.js';
import { DEFAULT_STORE_ROOT } from '../store/paths.js';
import { lock, tryLock, type FileLock } from '../sys/flock.js';
import { FailedPrecondition, InvalidArgument, errnoCode } from '../util/errors.js';
import { createContainer } from './conmon.js';
import { LOG_MAX_BYTES, readLog, type LogLine } from './logs.js';
import { NetworkManager, parsePublish, type PortMapping } from './network/index.js';
import { chooseRuntime } from './oci-runtime.js';
import { isAlive, processStartTime } from './procfs.js';
import {
  ContainerRecords,
  checkName,
  newContainerId,
  randomName,
  type ContainerRow,
  type CreateOptions,
} from './records.js';
import { mountRootfs, unmountRootfs } from './rootfs.js';
import { deleteRuntimeState, hasRuntimeState, runtimeCall, runtimeCallInBackground } from './runtime-cli.js';
import { resizeConsole } from './attach.js';
import { startExec, type ExecOptions, type ExecProcess, type ExecStreams } from './exec.js';
import { shouldRestart } from './restart-policy.js';
import { bootContainers, type BootResult } from './boot.js';
import { isPaused, thawAfterSignal } from './pause.js';
import { buildSpec } from './spec.js';
import { specInput } from './spec-input.js';
import { parseVolume } from './volumes.js';
import { Volumes } from './volume-store.js';
import { precompileSeccomp } from './seccomp-cache.js';
import { healthSpec, initialHealth } from './health.js';
import { ensureSupervisor } from './supervisor.js';
import { summary, type ContainerSummary } from './container-summary.js';
import { validate } from './create-options.js';
import { LayerQuotas } from './storage-quota.js';
import { recordContainerEvent } from './container-events.js';

export type { ContainerSummary } from './container-summary.js';

export interface RuntimeOptions {
  /** argv that runs `skiff` with this store (for conmon's exit command). */
  skiffCommand: string[];
  /** One-line notices for the user (runtime fallback, clamped limits). */
  notice?: (text: string) => void;
}

/** conmon's own hard cap, far above the rotation size: only hit if no supervisor runs. */
const LOG_SIZE_MAX = 4 * LOG_MAX_BYTES;
const STOPPED_MARK = 'stopped-by-user';

export class Runtime {
  readonly records: ContainerRecords;
  readonly networks: NetworkManager;
  readonly volumes: Volumes;
  private readonly dir: string;
  private readonly quotas: LayerQuotas;

  constructor(
    private readonly store: Store,
    private readonly options: RuntimeOptions,
  ) {
    this.records = new ContainerRecords(store.meta.db);
    this.dir = store.paths.containers;
    fs.mkdirSync(this.dir, { recursive: true });
    this.networks = new NetworkManager(store.meta.db, store.paths.networks, kernelNames(store.paths.root));
    this.volumes = new Volumes(store.meta.db, store.paths.root);
    this.quotas = new LayerQuotas(this.dir, store.paths.root);
  }

  containerDir(id: string): string {
    return path.join(this.dir, id);
  }

  /** Records a container; nothing runs yet. Bad options fail here, before anything exists. */
  create(options: CreateOptions): ContainerRow {
    validate(options);
    const size = this.quotas.required(options);
    const resolved = resolveImage(this.store, options.image);
    const runtime = chooseRuntime(options.runtime);
    if (runtime.notice) this.options.notice?.(runtime.notice);
    const id = newContainerId();
    const name = options.name ?? randomName();
    checkName(name);
    const row = {
      id,
      name,
      image_id: resolved.imageId,
      image_name: options.image,
      created: new Date().toISOString(),
      spec: JSON.stringify(options),
      runtime: runtime.path,
      state: 'created' as const,
    };
    this.records.insert(row);
    fs.mkdirSync(this.containerDir(id), { recursive: true, mode: 0o700 });
    try {
      if (size !== undefined) this.quotas.assign(this.containerDir(id), id, size);
    } catch (err) {
      fs.rmSync(this.containerDir(id), { recursive: true, force: true });
      this.records.delete(id);
      throw err;
    }
    for (const v of options.volumes ?? []) {
      const parsed = parseVolume(v);
      if (parsed.kind === 'volume') this.volumes.create(parsed.source, { ifMissing: true });
    }
    const created = this.records.get(id)!;
    this.event('create', created);
    return created;
  }

  /**
   * Starts a created or exited container. With `attach`, the caller gets the conmon attach
   * socket connected before the process runs, so no output is missed.
   */
  async start(input: string, hooks: { beforeStart?: (bundle: string) => void } = {}): Promise<ContainerRow> {
    const found = this.records.find(input);
    const bundle = this.containerDir(found.id);
    // The whole start holds the lock `finish` takes. An exit command of this run (the process
    // may be over before `running` is recorded) waits for the row it has to finish, and the
    // late exit command of the run before (`cleanup <id> <its token>`, a process of its own
    // that a quick stop-then-start can outrun) sees this run's token and leaves it alone.
    const held = await lock(path.join(bundle, 'lock'), 'exclusive');
    try {
      const row = this.settle(this.records.find(found.id));
      if (row.state === 'running') return row;
      return await this.startLocked(row, hooks);
    } finally {
      held.release();
    }
  }

  private async startLocked(
    row: ContainerRow,
    hooks: { beforeStart?: (bundle: string) => void },
  ): Promise<ContainerRow> {
    const options = JSON.parse(row.spec) as CreateOptions;
    const bundle = this.containerDir(row.id);
    const started = new Date().toISOString();
    this.records.update(row.id, { started });
    const exitDir = path.join(bundle, 'exits');
    fs.rmSync(exitDir, { recursive: true, force: true });
    fs.rmSync(path.join(bundle, STOPPED_MARK), { force: true });
    try {
      const image = readImage(this.store, {
        imageId: row.image_id,
        manifestDigest: this.manifestOf(row.image_id),
      });
      const health = healthSpec(options, image.config.config ?? {});
      this.quotas.required(options);
      const rootfs = mountRootfs(this.store, bundle, image.config.rootfs.diff_ids);
      // A run killed mid-create may have left the runtime's container (and its init process,
      // which pins the old netns): remove it before making the network anew.
      deleteRuntimeState(row);
      const attachment = this.networks.attach(row.id, {
        network: options.network ?? 'bridge',
        name: row.name,
        hostname: options.hostname ?? row.id.slice(0, 12),
        aliases: options.networkAliases,
        ports: (options.publish ?? []).flatMap(parsePublish),
        extra: options.extraNetworks?.map((n) => ({ network: n.name, aliases: n.aliases, ip: n.ip })),
      });
      const spec = await precompileSeccomp(
        buildSpec(
          specInput({
            row,
            options,
            image: image.config.config ?? {},
            rootfs,
            attachment,
            storeRoot: this.store.paths.root,
            containerDir: this.containerDir(row.id),
          }),
        ),
        {
          cacheDir: path.join(this.store.paths.cache, 'seccomp'),
          runtime: path.basename(row.runtime) === 'runc' ? 'runc' : 'crun',
          runtimePath: row.runtime,
          onError: (err) => this.options.notice?.(`precompile seccomp: ${(err as Error).message}`),
        },
      );
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
      const detached = !hooks.beforeStart;
      const { pid, conmonPid } = await createContainer({
        id: row.id,
        bundle,
        runtimePath: row.runtime,
        logPath: path.join(bundle, 'ctr.log'),
        exitDir,
        tty: options.tty ?? false,
        stdin: options.interactive ?? false,
        logSizeMax: LOG_SIZE_MAX,
        // A detached container is cleaned up (and restarted, by policy) by a short-lived skiff
        // that conmon runs when it exits; an attached run cleans up itself.
        // The start time names this run: a late exit command of an earlier run (after a
        // restart) must not tear down this one.
        exitCommand: detached
          ? [...this.options.skiffCommand, 'container', 'cleanup', row.id, started]
          : undefined,
      });
      hooks.beforeStart?.(bundle);
      runtimeCall(row.runtime, ['start', row.id]);
      this.records.update(row.id, {
        state: 'running',
        pid,
        pid_start: processStartTime(pid) ?? null,
        conmon_pid: conmonPid,
        conmon_start: processStartTime(conmonPid) ?? null,
        exit_code: null,
        started,
        finished: null,
        health: health ? JSON.stringify(initialHealth()) : null,
      });
      // Detached containers need their logs rotated (and checks run) after the CLI exits.
      if (detached) ensureSupervisor(this.store.paths.root, this.options.skiffCommand);
      const running = this.records.get(row.id)!;
      this.event('start', running);
      return running;
    } catch (err) {
      this.teardown(row);
      throw err;
    }
  }

  /** The image's container config (Cmd, Healthcheck, …) of a container. */
  imageConfigOf(row: ContainerRow): ContainerConfig {
    return (
      readImage(this.store, { imageId: row.image_id, manifestDigest: this.manifestOf(row.image_id) }).config
        .config ?? {}
    );
  }

  private manifestOf(imageId: string): string {
    const manifests = this.store.meta.manifestsOf(imageId);
    if (manifests[0]) return manifests[0].digest;
    throw new FailedPrecondition(`start container: image ${imageId} has no manifest`);
  }

  /** Waits for the container to exit and returns its status; cleans up what the run held. */
  async wait(input: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    const row = this.records.find(input);
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const current = this.records.get(row.id);
      if (!current) return row.exit_code ?? 0;
      if (current.state !== 'running') return current.exit_code ?? 0;
      if (this.isOver(current)) {
        return (await this.finish(row.id)).exit_code ?? 0;
      }
      await sleep(delay, undefined, options);
    }
  }

  /**
   * After the process exits: release the network, the mount and the runtime's container, then
   * record the status. Idempotent, and serialised per container by a lock file, because
   * conmon's exit command, a waiting CLI and `refresh` may all get here.
   */
  async finish(id: string, run?: string): Promise<ContainerRow> {
    const held = await lock(path.join(this.containerDir(id), 'lock'), 'exclusive');
    try {
      const row = this.records.get(id);
      if (!row) throw new FailedPrecondition(`finish container \`${id.slice(0, 12)}\`: removed meanwhile`);
      // Asked for by an earlier run's exit command: the current run is not its business.
      if (run !== undefined && row.started !== run) return row;
      if (row.state !== 'running') return row;
      await this.teardownExited(row);
      return this.recordExit(row);
    } finally {
      held.release();
    }
  }

  /**
   * Under the container's lock: a `running` row whose process is over is released and recorded
   * as exited. The state moves away from `running` only after the release, and only under the
   * lock, so the kernel objects of a run are released once whoever notices the exit first.
   */
  private settle(row: ContainerRow): ContainerRow {
    if (row.state !== 'running' || !this.isOver(row)) return row;
    this.teardown(row);
    return this.recordExit(row);
  }

  /** The run's process is gone: its exit file is written, or its conmon is dead. */
  private isOver(row: ContainerRow): boolean {
    return fs.existsSync(this.exitFile(row.id)) || !isAlive(row.conmon_pid, row.conmon_start);
  }

  private exitFile(id: string): string {
    return path.join(this.containerDir(id), 'exits', id);
  }

  private recordExit(row: ContainerRow): ContainerRow {
    const code = readExitCode(this.exitFile(row.id));
    this.records.update(row.id, {
      state: 'exited',
      exit_code: code ?? 255,
      finished: new Date().toISOString(),
      pid: null,
      pid_start: null,
    });
    const exited = this.records.get(row.id)!;
    this.event('die', exited, { exitCode: String(exited.exit_code) });
    return exited;
  }

  /** Releases what a start took; safe on a half-started container. */
  private teardown(row: ContainerRow): void {
    deleteRuntimeState(row);
    this.release(row);
  }

  /**
   * `teardown` of a container whose process has exited: the runtime's `delete` (a process of
   * its own, ~10 ms) runs while the network and the mount are released, which no longer
   * depend on it once nothing runs in the container.
   */
  private async teardownExited(row: ContainerRow): Promise<void> {
    const deleting = hasRuntimeState(row)
      ? runtimeCallInBackground(row.runtime, ['delete', '--force', row.id])
      : undefined;
    this.release(row);
    await deleting;
  }

  private release(row: ContainerRow): void {
    try {
      this.networks.detach(row.id);
    } catch (err) {
      this.options.notice?.(`release network of ${row.id.slice(0, 12)}: ${(err as Error).message}`);
    }
    unmountRootfs(this.containerDir(row.id));
  }

  /**
   * Trust a 'running' row only while its conmon lives: a crash anywhere leaves ps right. A run
   * found over is finished here (`settle`), so `ps`, the supervisor and the next command after
   * a crash release what it held. While the container's lock is held (by a start, or a finish
   * in this process or another), the holder records the outcome: the row is left as it is.
   */
  refresh(row: ContainerRow): ContainerRow {
    if (row.state !== 'running' || !this.isOver(row)) return row;
    let held: FileLock | undefined;
    try {
      held = tryLock(path.join(this.containerDir(row.id), 'lock'), 'exclusive');
    } catch (err) {
      // Removed meanwhile, directory and all.
      if (errnoCode(err) === 'ENOENT') return row;
      throw err;
    }
    if (held === undefined) return row;
    try {
      const current = this.records.get(row.id);
      return current ? this.settle(current) : row;
    } finally {
      held.release();
    }
  }

  list(options: { all?: boolean } = {}): ContainerSummary[] {
    // Containers share images: each image's config is read once per listing, not per container.
    const configs = new Map<string, ContainerConfig>();
    const configOf = (row: ContainerRow): ContainerConfig => {
      let config = configs.get(row.image_id);
      if (!config) configs.set(row.image_id, (config = this.imageConfigOf(row)));
      return config;
    };
    return this.records
      .all()
      .map((row) => this.refresh(row))
      .filter((row) => options.all || row.state === 'running')
      .map((row) => summary(row, () => configOf(row), this.resolvedPorts(row)));
  }

  /** `ports`: what it publishes, host ports resolved while it runs (as `ps` shows them). */
  inspect(input: string): ContainerRow & { options: CreateOptions; ports: PortMapping[] } {
    const row = this.refresh(this.records.find(input));
    const options = JSON.parse(row.spec) as CreateOptions;
    return {
      ...row,
      options,
      ports: this.resolvedPorts(row) ?? (options.publish ?? []).flatMap(parsePublish),
    };
  }

  private resolvedPorts(row: ContainerRow): PortMapping[] | undefined {
    return row.state === 'running' ? this.networks.publishedPorts(row.id) : undefined;
  }

  /** The container's address on its network (running containers on bridge and user networks). */
  address(input: string): string | undefined {
    return this.networks.addressOf(this.records.find(input).id);
  }

  kill(input: string, signal = 'KILL'): void {
    const row = this.refresh(this.records.find(input));
    if (row.state !== 'running')
      throw new FailedPrecondition(`kill container \`${input}\`: container is not running`, {
        code: 'CONTAINER_NOT_RUNNING',
      });
    runtimeCall(row.runtime, ['kill', row.id, signal.replace(/^SIG/, '')]);
    thawAfterSignal(row);
    this.event('kill', row, { signal: signal.replace(/^SIG/, '') });
  }

  /** STOPSIGNAL, then SIGKILL after `timeout` seconds, like `docker stop`. */
  async stop(input: string, timeout?: number): Promise<ContainerRow> {
    const row = this.refresh(this.records.find(input));
    if (row.state !== 'running') return row;
    const options = JSON.parse(row.spec) as CreateOptions;
    const image = readImage(this.store, {
      imageId: row.image_id,
      manifestDigest: this.manifestOf(row.image_id),
    });
    const signal = (options.stopSignal ?? image.config.config?.StopSignal ?? 'TERM').replace(/^SIG/, '');
    this.markStopped(row.id);
    runtimeCall(row.runtime, ['kill', row.id, signal], { allowFail: true });
    thawAfterSignal(row);
    const seconds = timeout ?? options.stopTimeout ?? 10;
    const deadline = Date.now() + seconds * 1000;
    const exitFile = this.exitFile(row.id);
    while (Date.now() < deadline && !fs.existsSync(exitFile)) await sleep(10);
    if (!fs.existsSync(exitFile)) {
      runtimeCall(row.runtime, ['kill', row.id, 'KILL'], { allowFail: true });
    }
    await this.wait(row.id);
    const stopped = this.records.get(row.id)!;
    this.event('stop', stopped);
    return stopped;
  }

  async remove(input: string, options: { force?: boolean } = {}): Promise<ContainerRow> {
    const row = this.refresh(this.records.find(input));
    if (row.state === 'running') {
      if (!options.force) {
        throw new FailedPrecondition(
          `remove container \`${input}\`: container is running; stop it first or use --force`,
          {
            code: 'CONTAINER_RUNNING',
          },
        );
      }
      this.markStopped(row.id);
      runtimeCall(row.runtime, ['kill', row.id, 'KILL'], { allowFail: true });
      thawAfterSignal(row);
      await this.wait(row.id);
    }
    // conmon exits only after its exit command (`container cleanup`) has finished; removing
    // the container under that command would let it recreate what we remove.
    for (let i = 0; i < 500 && isAlive(row.conmon_pid, row.conmon_start); i++) await sleep(10);
    this.teardown(row);
    this.records.delete(row.id);
    const project = this.quotas.projectOf(this.containerDir(row.id));
    // A late exit command may still drop its lock file in here: retry on ENOTEMPTY.
    fs.rmSync(this.containerDir(row.id), { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
    if (project !== undefined) this.quotas.release(project, this.options.notice ?? (() => {}));
    this.event('destroy', row);
    return row;
  }

  /** Records a container event in the store's journal (a failure to record is only a notice). */
  event(action: string, row: ContainerRow, extra: Record<string, string> = {}): void {
    recordContainerEvent(this.store.events, action, row, extra, this.options.notice);
  }

  /**
   * Starts `command` in a running container, with this process's stdio (`'inherit'`) or joined
   * to `io` (exec.ts); resolves once it runs.
   */
  async startExec(
    input: string,
    command: string[],
    options: ExecOptions = {},
    io: ExecStreams | 'inherit' = {},
  ): Promise<ExecProcess> {
    const row = this.running(input, 'exec in');
    // Its process would join the frozen cgroup and hang there, as would the client.
    if (isPaused(row))
      throw new FailedPrecondition(`exec in \`${input}\`: container is paused; unpause it first`);
    if (command.length === 0) throw new InvalidArgument('exec: no command given', { code: 'NO_COMMAND' });
    const target = { id: row.id, runtimePath: row.runtime, bundle: this.containerDir(row.id) };
    return startExec(target, command, options, io);
  }

  /** Runs a command in a running container with this process's stdio; its exit status. */
  async exec(input: string, command: string[], options: ExecOptions = {}): Promise<number> {
    const exec = await this.startExec(input, command, options, 'inherit');
    const status = await exec.exited;
    if (exec.failure) throw exec.failure;
    return status;
  }

  /** The window size of a running container's tty (conmon's ctl FIFO); nothing without a tty. */
  resize(input: string, rows: number, cols: number): void {
    const row = this.running(input, 'resize');
    if ((JSON.parse(row.spec) as CreateOptions).tty) resizeConsole(this.containerDir(row.id), rows, cols);
  }

  /** The row of a running container; `verb` names the refused operation otherwise. */
  running(input: string, verb: string): ContainerRow {
    const row = this.refresh(this.records.find(input));
    if (row.state !== 'running')
      throw new FailedPrecondition(`${verb} \`${input}\`: container is not running`, {
        code: 'CONTAINER_NOT_RUNNING',
      });
    return row;
  }

  /**
   * Gives a container another name, running or not. Its peers on user networks resolve the
   * new name at once: every hosts file that listed the old one is rewritten.
   */
  rename(input: string, name: string): ContainerRow {
    const row = this.records.find(input);
    checkName(name);
    if (name === row.name)
      throw new InvalidArgument(`rename container \`${input}\`: it is already named \`${name}\``);
    this.records.rename(row.id, name);
    this.networks.renamed(row.id, name);
    const renamed = this.records.get(row.id)!;
    this.event('rename', renamed, { oldName: `/${row.name}` });
    return renamed;
  }

  logs(
    input: string,
    options: { follow?: boolean; tail?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<LogLine> {
    const row = this.records.find(input);
    const file = path.join(this.containerDir(row.id), 'ctr.log');
    return readLog(file, {
      ...options,
      done: () => {
        const current = this.records.get(row.id);
        return !current || this.refresh(current).state !== 'running';
      },
    });
  }

  /** conmon's exit command: record the exit, clean up, honour --rm and restart policies. */
  async cleanup(id: string, run?: string): Promise<void> {
    const row = this.records.get(id);
    if (!row) return;
    // An exit command from a run before the current one (the container was restarted since).
    if (run !== undefined && row.started !== run) return;
    const finished = await this.finish(id, run);
    if (run !== undefined && finished.started !== run) return;
    const options = JSON.parse(row.spec) as CreateOptions;
    if (options.rm) {
      await this.remove(id, { force: true });
      return;
    }
    const stoppedByUser = this.stoppedByUser(id);
    if (!stoppedByUser && shouldRestart(options.restart, finished)) {
      // Docker's back-off: 100 ms, doubling with each restart, at most 10 s.
      await sleep(Math.min(100 * 2 ** finished.restart_count, 10_000));
      this.records.update(id, { restart_count: finished.restart_count + 1 });
      await this.start(id);
    }
  }

  /** At boot: starts the containers whose restart policy wants them running (boot.ts). */
  async boot(): Promise<BootResult> {
    return bootContainers(this);
  }

  /** Whether the user stopped the container, so its restart policy leaves it down. */
  stoppedByUser(id: string): boolean {
    return fs.existsSync(path.join(this.containerDir(id), STOPPED_MARK));
  }

  /** A container the user stopped is not restarted by its policy (until started again). */
  private markStopped(id: string): void {
    fs.writeFileSync(path.join(this.containerDir(id), STOPPED_MARK), '');
  }
}

/**
 * Bridges and the nftables table are host-wide while networks belong to a store: each store
 * root gets its own table and bridge names (the default root keeps the plain `skiff`), so two
 * stores on one host never rewrite each other's rules.
 */
function kernelNames(root: string): { table: string; bridgePrefix: string } {
  if (root === DEFAULT_STORE_ROOT) return { table: 'skiff', bridgePrefix: 'skiff' };
  const hash = createHash('sha256').update(root).digest('hex');
  return { table: `skiff_${hash.slice(0, 12)}`, bridgePrefix: `sk${hash.slice(0, 5)}` };
}

function readExitCode(file: string): number | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    const code = Number(text);
    return Number.isInteger(code) ? (code < 0 ? 255 : code) : undefined;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}
