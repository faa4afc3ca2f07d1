/**
 * The two outside tools networking needs, each run once per step with a whole script on stdin:
 * `ip -batch -` (iproute2) and `nft -f -` (one atomic nftables transaction). Podman's netavark
 * spends ~200 ms on ~30 sequential iptables processes; a handful of batch runs costs a few ms.
 */
import { spawnSync } from 'node:child_process';
import { FailedPrecondition, Unavailable } from '../../util/errors.js';
import { programPath } from '../../util/programs.js';

export interface ToolResult {
  status: number;
  stderr: string;
}

/** Absolute path of `name`: the sbin directories are not on every root PATH. */
export function toolPath(name: 'ip' | 'nft'): string {
  return programPath(name);
}

/** Runs `tool args…` with `script` on stdin; never throws on a non-zero status. */
export function runTool(tool: 'ip' | 'nft', args: string[], script: string): ToolResult {
  const r = spawnSync(toolPath(tool), args, {
    input: script,
    encoding: 'utf8',
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  if (r.error) throw new Unavailable(`run \`${tool}\`: ${r.error.message}`, { cause: r.error });
  return { status: r.status ?? 128, stderr: r.stderr.trim() };
}

/** Like runTool, but a failure is an error naming the step: "attach `abc`: ip: RTNETLINK …". */
export function mustRun(what: string, tool: 'ip' | 'nft', args: string[], script: string): void {
  const r = runTool(tool, args, script);
  if (r.status !== 0) throw new FailedPrecondition(`${what}: ${tool}: ${oneLine(r.stderr)}`);
}

/** `ip -batch` prints "Command failed -:N" after each failing line's message: the failed line numbers. */
export function failedLines(stderr: string): Set<number> {
  const lines = new Set<number>();
  for (const m of stderr.matchAll(/Command failed -:(\d+)/g)) lines.add(Number(m[1]));
  return lines;
}

export function oneLine(stderr: string): string {
  return (
    stderr
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(0, 3)
      .join('; ') || 'failed'
  );
}
