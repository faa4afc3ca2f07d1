/** Calls to the OCI runtime binary (crun or runc) for the verbs skiff itself issues. */
import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FailedPrecondition } from '../util/errors.js';
import type { ContainerRow } from './records.js';

export function runtimeCall(
  runtimePath: string,
  args: string[],
  options: { allowFail?: boolean } = {},
): { status: number; stderr: string } {
  const result = spawnSync(runtimePath, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const status = result.status ?? 1;
  if (status !== 0 && !options.allowFail) {
    const why = (result.stderr || result.error?.message || `exit status ${status}`).trim().split('\n').pop();
    throw new FailedPrecondition(`${runtimePath.split('/').pop()} ${args[0]} \`${args.at(-1)}\`: ${why}`, {
      code: 'RUNTIME_FAILED',
    });
  }
  return { status, stderr: result.stderr ?? '' };
}

/** `runtimeCall` that lets the caller work while the runtime runs; never rejects. */
export function runtimeCallInBackground(runtimePath: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(runtimePath, args, { stdio: 'ignore' });
    child.on('error', () => resolve(1));
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/**
 * `runtime delete --force`, only when the runtime still has state for the container: each
 * call costs a process (and crun re-executes itself), and most teardowns find nothing left.
 */
export function deleteRuntimeState(row: ContainerRow): void {
  if (hasRuntimeState(row)) runtimeCall(row.runtime, ['delete', '--force', row.id], { allowFail: true });
}

export function hasRuntimeState(row: ContainerRow): boolean {
  const stateRoot = path.basename(row.runtime) === 'runc' ? '/run/runc' : '/run/crun';
  return fs.existsSync(path.join(stateRoot, row.id));
}
