/**
 * Pieces the container tests share: ps/inspect through the real CLI, what a container leaves on
 * the host (mounts, netns, veths, cgroups, runtime state, processes), and the removal of a
 * throwaway root with everything it made. Host objects are global and other roots may be busy
 * on the same machine, so "stray" means new since a snapshot *and* held by no process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ls, waitFor, type RunResult, type Sandbox } from './helpers.js';

export interface PsRow {
  id: string;
  name: string;
  image: string;
  command: string;
  state: 'created' | 'running' | 'exited';
  exitCode: number | null;
  started: string | null;
  ports: { hostIp?: string; hostPort: number; containerPort: number; protocol: string }[];
}

export interface ContainerInspect {
  id: string;
  name: string;
  state: string;
  runtime: string;
  pid: number | null;
  exit_code: number | null;
  restart_count: number;
}

export async function ps(s: Sandbox): Promise<PsRow[]> {
  return JSON.parse((await s.ok(['ps', '-a', '--format', 'json'])).stdout) as PsRow[];
}

export async function psRow(s: Sandbox, name: string): Promise<PsRow | undefined> {
  return (await ps(s)).find((r) => r.name === name);
}

export async function inspectContainer(s: Sandbox, name: string): Promise<ContainerInspect> {
  const out = (await s.ok(['inspect', '--type', 'container', name])).stdout;
  return (JSON.parse(out) as ContainerInspect[])[0]!;
}

/** `skiff run -d …`: the new container's full ID. */
export async function runDetached(s: Sandbox, args: string[]): Promise<string> {
  const id = (await s.ok(['run', '-d', ...args])).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  return id;
}

/** Waits until the container's log has a line `line` (a script says it is ready, say). */
export async function waitForLog(s: Sandbox, name: string, line: string): Promise<void> {
  await waitFor(`\`${line}\` in the log of ${name}`, async () => {
    const logs = (await s.ok(['logs', name])).stdout;
    return logs.split('\n').includes(line) ? true : undefined;
  });
}

export function assertExit(r: RunResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code ?? r.signal}, stderr: ${r.stderr}`);
}

const CONTROLLERS = ['memory', 'pids', 'cpu', 'devices', 'freezer'];

/** What a container may hold on the host; [] once it is fully gone. */
export function traces(s: Sandbox, id: string): string[] {
  const short = id.slice(0, 12);
  const found: string[] = [];
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    if (line.includes(id)) found.push(`mount ${line.split(' ')[1]}`);
  }
  if (fs.existsSync(`/run/netns/skiff-${short}`)) found.push(`netns skiff-${short}`);
  if (fs.existsSync(`/sys/class/net/skv${short}`)) found.push(`veth skv${short}`);
  for (const c of CONTROLLERS) {
    if (fs.existsSync(`/sys/fs/cgroup/${c}/skiff/${id}`)) found.push(`cgroup ${c}/skiff/${id}`);
  }
  const dir = path.join(s.root, 'containers', id);
  if (fs.existsSync(dir)) found.push(`dir containers/${short} [${ls(dir).join(' ')}]`);
  for (const state of ['/run/crun', '/run/runc']) {
    if (fs.existsSync(path.join(state, id))) found.push(`runtime state ${state}/${short}`);
  }
  for (const pid of ls('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.includes(id))) found.push(`process ${pid} ${argv[0]}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Gives conmon's exit command and the kernel a moment, then requires no trace of `id`. */
export async function assertGone(s: Sandbox, id: string): Promise<void> {
  const left = await waitFor(
    `container ${id.slice(0, 12)} to be gone`,
    () => (traces(s, id).length === 0 ? [] : undefined),
    { timeout: 5_000 },
  ).catch(() => traces(s, id));
  assert.deepEqual(left, [], `container ${id.slice(0, 12)} left things behind`);
}

export interface HostObjects {
  netns: Set<string>;
  veths: Set<string>;
  cgroups: Set<string>;
}

export function hostObjects(): HostObjects {
  return {
    netns: new Set(ls('/run/netns').filter((n) => n.startsWith('skiff-'))),
    veths: new Set(ls('/sys/class/net').filter((n) => n.startsWith('skv'))),
    cgroups: new Set(
      CONTROLLERS.flatMap((c) =>
        ls(`/sys/fs/cgroup/${c}/skiff`)
          .filter((n) => /^[0-9a-f]{64}$/.test(n))
          .map((n) => `${c}/skiff/${n}`),
      ),
    ),
  };
}

function netnsIdle(name: string): boolean {
  if (!fs.existsSync(`/run/netns/${name}`)) return true;
  return spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout.trim() === '';
}

/** Netns, veths and cgroups that appeared since `before` and that no process holds. */
export async function strayHostObjects(before: HostObjects): Promise<string[]> {
  await sleep(300); // a container another root is starting right now gets its process meanwhile
  const now = hostObjects();
  const stray: string[] = [];
  for (const n of now.netns) if (!before.netns.has(n) && netnsIdle(n)) stray.push(`netns ${n}`);
  for (const v of now.veths) {
    if (!before.veths.has(v) && netnsIdle(`skiff-${v.slice(3)}`)) stray.push(`veth ${v}`);
  }
  for (const c of now.cgroups) {
    if (before.cgroups.has(c)) continue;
    const procs = fs.readFileSync(`/sys/fs/cgroup/${c}/cgroup.procs`, 'utf8').trim();
    if (procs === '') stray.push(`cgroup ${c}`);
  }
  return stray;
}

/** Mount points under a store root (overlay rootfs, netns bind mounts…). */
export function mountsUnder(root: string): string[] {
  return fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${root}/`));
}

/** GET on loopback: the body, or a rejection on any connection error. */
export function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}

/**
 * Removes what a root made — containers, networks with their bridges and nftables table,
 * volumes, its supervisor, the root itself — with skiff's own `system reset`.
 */
export async function discardRoot(s: Sandbox): Promise<void> {
  const reset = await s.skiff(['system', 'reset', '-f']);
  if (reset.code !== 0) throw new Error(`system reset -f: ${reset.stderr}`);
  stopSupervisor(s.root);
  s.cleanup();
}

/**
 * The per-root supervisor (`skiff container supervise`, started by `run -d` and `start`) would
 * linger for its idle timeout over a deleted root: stop it, but only if the pid it recorded is
 * still that root's supervisor.
 */
function stopSupervisor(root: string): void {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(root, 'supervisor.pid'), 'utf8').trim());
  } catch {
    return;
  }
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.includes(root) && argv.includes('supervise')) process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
