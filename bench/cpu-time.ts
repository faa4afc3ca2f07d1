/**
 * Wall and CPU time (user + system) of a command's whole process tree, daemons it leaves
 * behind included: the command runs in a cgroup of its own (cpuacct on cgroup v1, the unified
 * hierarchy on v2), whose counter every descendant adds to — conmon, which double-forks away
 * from its parent, too. A process that moves itself into another cgroup (podman moves its
 * conmon under libpod_parent/) is counted only until it moves.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Timing {
  wallMs: number;
  cpuMs: number;
}

const V2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
const BASE = V2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/cpuacct';

function usageNs(dir: string): number {
  if (!V2) return Number(fs.readFileSync(path.join(dir, 'cpuacct.usage'), 'utf8'));
  const line = /^usage_usec (\d+)$/m.exec(fs.readFileSync(path.join(dir, 'cpu.stat'), 'utf8'));
  return Number(line![1]) * 1000;
}

let group: string | undefined;

/** Runs `cmd args` to completion in the benchmark's cgroup; throws when it fails. */
export function timeTree(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timing {
  if (group === undefined) {
    group = path.join(BASE, `skiff-bench-${process.pid}`);
    fs.mkdirSync(group, { recursive: true });
    process.on('exit', () => {
      try {
        fs.rmdirSync(group!);
      } catch {
        // A daemon the command left still runs in it; the kernel keeps the group until it exits.
      }
    });
  }
  const before = usageNs(group);
  const start = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group, cmd, ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')}: exit ${r.status}: ${r.stderr}`);
  return { wallMs, cpuMs: (usageNs(group) - before) / 1e6 };
}

/**
 * A cgroup of its own for a long-lived process (a service a benchmark talks to), so that its
 * CPU time and its children's (conmon, containers) can be read around each request.
 */
export function serviceGroup(name: string): { dir: string; cpuMs(): number; remove(): void } {
  const dir = path.join(BASE, `skiff-bench-${process.pid}-${name}`);
  fs.mkdirSync(dir, { recursive: true });
  return {
    dir,
    cpuMs: () => usageNs(dir) / 1e6,
    remove() {
      try {
        fs.rmdirSync(dir);
      } catch {
        // Processes still in it: the kernel keeps the group until they exit.
      }
    },
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Two warm-up runs, then `runs` timed ones: the medians of wall and CPU time. */
export function measureTree(
  label: string,
  runs: number,
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Timing {
  timeTree(cmd, args, env);
  timeTree(cmd, args, env);
  const samples = Array.from({ length: runs }, () => timeTree(cmd, args, env));
  const result = { wallMs: median(samples.map((s) => s.wallMs)), cpuMs: median(samples.map((s) => s.cpuMs)) };
  console.log(
    `${label.padEnd(52)} wall ${result.wallMs.toFixed(1).padStart(7)} ms   cpu ${result.cpuMs.toFixed(1).padStart(7)} ms`,
  );
  return result;
}
