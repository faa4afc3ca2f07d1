/**
 * Pause and unpause: the OCI runtime's `pause`/`resume`, which freeze and thaw the container's
 * cgroup. Whether a container is paused is read from that cgroup's freezer, not recorded by
 * skiff: the freezer is the truth (a pause by `crun pause` directly, or a `cp` that froze the
 * container and was killed before it thawed it, shows as paused and can be unpaused), and a
 * file read costs less than asking the runtime for every row of `ps`.
 */
import fs from 'node:fs';
import { FailedPrecondition } from '../util/errors.js';
import type { EventJournal } from '../store/events.js';
import { recordContainerEvent } from './container-events.js';
import { isAlive } from './procfs.js';
import type { ContainerRow } from './records.js';
import type { Runtime } from './runtime.js';
import { runtimeCall } from './runtime-cli.js';

/** Where the runtime puts the container's freezer state, for cgroupsPath `/skiff/<id>` (spec.ts). */
function freezerFiles(id: string): { v1: string; v2: string } {
  return {
    v1: `/sys/fs/cgroup/freezer/skiff/${id}/freezer.state`,
    v2: `/sys/fs/cgroup/skiff/${id}/cgroup.freeze`,
  };
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Whether the container's processes are frozen. Only a running container can be. */
export function isPaused(row: Pick<ContainerRow, 'id' | 'state'>): boolean {
  if (row.state !== 'running') return false;
  const files = freezerFiles(row.id);
  const v1 = readOrUndefined(files.v1);
  // FREEZING: the runtime asked, and the kernel is still stopping the tasks.
  if (v1 !== undefined) return v1 === 'FROZEN' || v1 === 'FREEZING';
  return readOrUndefined(files.v2) === '1';
}

export function freeze(row: ContainerRow): void {
  runtimeCall(row.runtime, ['pause', row.id]);
}

export function thaw(row: ContainerRow): void {
  runtimeCall(row.runtime, ['resume', row.id]);
}

/**
 * Thaws a container frozen for a while (a copy): one that exited meanwhile (stopped, killed)
 * has nothing left to thaw; one still frozen is an error, or it would stay paused unseen.
 */
export function thawAfterUse(row: ContainerRow): void {
  const r = runtimeCall(row.runtime, ['resume', row.id], { allowFail: true });
  if (r.status !== 0 && isAlive(row.pid, row.pid_start) && isPaused(row))
    throw new FailedPrecondition(
      `resume container \`${row.name}\`: ${r.stderr.trim().split('\n').pop() ?? 'failed'}; it is still paused (skiff unpause ${row.name})`,
      { code: 'RUNTIME_FAILED' },
    );
}

/**
 * After a signal to a paused container: a frozen process only sees it once thawed (and on
 * cgroup v1 not even SIGKILL ends it before), so it is thawed, as Docker does on stop and kill.
 */
export function thawAfterSignal(row: ContainerRow): void {
  if (isPaused(row)) runtimeCall(row.runtime, ['resume', row.id], { allowFail: true });
}

function runningRow(runtime: Runtime, input: string, verb: string): ContainerRow {
  const row = runtime.inspect(input);
  if (row.state !== 'running' || !isAlive(row.pid, row.pid_start))
    throw new FailedPrecondition(`${verb} container \`${input}\`: container is not running`, {
      code: 'CONTAINER_NOT_RUNNING',
    });
  return row;
}

export function pauseContainer(runtime: Runtime, events: EventJournal, input: string): ContainerRow {
  const row = runningRow(runtime, input, 'pause');
  if (isPaused(row))
    throw new FailedPrecondition(`pause container \`${input}\`: container is already paused`);
  freeze(row);
  recordContainerEvent(events, 'pause', row);
  return row;
}

export function unpauseContainer(runtime: Runtime, events: EventJournal, input: string): ContainerRow {
  const row = runningRow(runtime, input, 'unpause');
  if (!isPaused(row)) throw new FailedPrecondition(`unpause container \`${input}\`: container is not paused`);
  thaw(row);
  recordContainerEvent(events, 'unpause', row);
  return row;
}
