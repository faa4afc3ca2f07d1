/** Calls to the OCI runtime binary (crun or runc) for the verbs skiff itself issues. */
import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FailedPrecondition } from '../util/errors.js';
import { CannotRun, runtimeError } from './conmon.js';
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
 * `runtime exec` with the caller's stdin and stdout: the exit status is the command's. stderr
 * passes through a pipe so that the runtime's own "not found" and "permission denied" become
 * Docker's 127 and 126 with skiff's one-line error instead of a bare 255.
 */
export function runtimeExec(
  runtimePath: string,
  args: string[],
  options: { tty?: boolean } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(runtimePath, args, {
      stdio: ['inherit', 'inherit', options.tty ? 'inherit' : 'pipe'],
    });
    let last = '';
    let held: Buffer | undefined;
    child.stderr?.on('data', (chunk: Buffer) => {
      last = (last + chunk.toString('utf8')).slice(-4096);
      if (held) process.stderr.write(held);
      // A line that reads like the runtime's own exec failure is held back: if the exec did
      // fail, it becomes skiff's error line instead of being printed twice.
      held = runtimeError(chunk.toString('utf8')) instanceof CannotRun ? chunk : undefined;
      if (!held) process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 255) {
        const failure = runtimeError(last);
        if (failure instanceof CannotRun) {
          reject(failure);
          return;
        }
      }
      if (held) process.stderr.write(held);
      resolve(code ?? (signal ? 128 + signalNumber(signal) : 1));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGKILL: 9,
    SIGTERM: 15,
    SIGINT: 2,
    SIGHUP: 1,
    SIGQUIT: 3,
  };
  return numbers[signal] ?? 1;
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
