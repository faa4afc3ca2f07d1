/** Calls to the OCI runtime binary (crun or runc) for the verbs skiff itself issues. */
import { spawnSync, spawn } from 'node:child_process';
import { FailedPrecondition } from '../util/errors.js';

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

/** `runtime exec` with the caller's own stdio: the exit status is the command's. */
export function runtimeExec(runtimePath: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(runtimePath, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
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
