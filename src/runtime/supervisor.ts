/**
 * The per-host supervisor: one process per store that rotates the logs of running containers,
 * runs the health checks of those that have one, and calls its owner's `everyTick` (deploys
 * end their warm windows there: deploy/deployer.ts `endWarmWindows`). It is started on demand by `run -d` and
 * `start`, holds an exclusive lock so there is never a second, and exits once no container runs
 * for a while, so an idle host runs no skiff process at all.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { storePaths } from '../store/paths.js';
import { tryLock } from '../sys/flock.js';
import { healthSpec, initialHealth, nextHealth, runCheck, type HealthState } from './health.js';
import type { CreateOptions } from './records.js';
import type { ContainerConfig } from '../oci/config.js';
import type { Runtime } from './runtime.js';
import { rotateLog } from './logs.js';

const TICK_MS = 250;
const IDLE_EXIT_MS = 30_000;

export function supervisorLock(root: string): string {
  return storePaths(root).supervisorLock;
}

/** Starts the supervisor unless one is running; it detaches and outlives the caller. */
export function ensureSupervisor(root: string, skiffCommand: string[]): void {
  const probe = tryLock(supervisorLock(root), 'exclusive');
  if (probe === undefined) return;
  probe.release();
  const [cmd, ...args] = skiffCommand;
  const child = spawn(cmd!, [...args, 'container', 'supervise'], { detached: true, stdio: 'ignore' });
  child.unref();
}

/** The supervisor's loop; returns when it has been idle long enough or another one runs. */
export async function supervise(
  runtime: Runtime,
  root: string,
  options: {
    signal?: AbortSignal;
    idleExitMs?: number;
    /**
     * Work of a layer above on each tick, not awaited: a long one (stopping containers) must not
     * hold back health checks. The owner keeps two from overlapping.
     */
    everyTick?: () => void;
  } = {},
): Promise<void> {
  const held = tryLock(supervisorLock(root), 'exclusive');
  if (held === undefined) return;
  try {
    fs.writeFileSync(storePaths(root).supervisorPid, `${process.pid}\n`);
    let idleSince = Date.now();
    const images = new Map<string, ContainerConfig>();
    while (!options.signal?.aborted) {
      // The store was removed under us (a test's sandbox, a wiped root): nothing to watch.
      if (!fs.existsSync(storePaths(root).db)) return;
      options.everyTick?.();
      const watched = await checkDue(runtime, images);
      if (watched > 0) idleSince = Date.now();
      else if (Date.now() - idleSince > (options.idleExitMs ?? IDLE_EXIT_MS)) return;
      await sleep(TICK_MS, undefined, { signal: options.signal }).catch(() => undefined);
    }
  } finally {
    held.release();
  }
}

/**
 * Rotates logs that grew too big and runs every health check that is due; returns how many
 * running containers it watches.
 */
async function checkDue(runtime: Runtime, images: Map<string, ContainerConfig>): Promise<number> {
  let watched = 0;
  for (const row of runtime.records.all()) {
    if (runtime.refresh(row).state !== 'running') continue;
    watched++;
    const bundle = runtime.containerDir(row.id);
    rotateLog(bundle, path.join(bundle, 'ctr.log'));
    const options = JSON.parse(row.spec) as CreateOptions;
    // Images are immutable: read each one's config once, not on every tick.
    let image = images.get(row.image_id);
    if (!image) images.set(row.image_id, (image = runtime.imageConfigOf(row)));
    const spec = healthSpec(options, image);
    if (!spec) continue;
    const state: HealthState = row.health ? (JSON.parse(row.health) as HealthState) : initialHealth();
    const startedAt = Date.parse(row.started ?? '') || Date.now();
    const last = state.lastCheck || startedAt;
    if (Date.now() - last < spec.intervalMs) continue;
    const start = new Date();
    const result = await runCheck(row.runtime, row.id, spec);
    const current = runtime.records.get(row.id);
    // The container may have stopped or restarted during the check: keep only a live result.
    if (!current || current.state !== 'running' || current.started !== row.started) continue;
    const next = nextHealth(state, spec, { ...result, start }, startedAt);
    runtime.records.update(row.id, { health: JSON.stringify(next) });
    // Docker's event for a change of health, which `docker events` and compose watch for.
    if (next.status !== state.status) runtime.event(`health_status: ${next.status}`, current);
  }
  return watched;
}

/** Stops this store's supervisor, if one runs, and waits until it has let go of its lock. */
export async function stopSupervisor(root: string): Promise<void> {
  let pid: number | undefined;
  try {
    pid = Number(fs.readFileSync(storePaths(root).supervisorPid, 'utf8').trim());
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    const held = tryLock(supervisorLock(root), 'exclusive');
    if (held) {
      held.release();
      return;
    }
    try {
      if (pid) process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone; the lock follows in a moment.
    }
    await sleep(20);
  }
}
