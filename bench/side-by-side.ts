/**
 * What the container benchmarks share: a throwaway skiff store and a private podman store
 * (with the containers.conf this machine needs, docs/host.md#podman-ulimits), the same busybox
 * image imported into both, commands that must succeed, and a cleanup that leaves no store,
 * bridge or table.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const IMAGE = 'bench/base:1';

/** Runs a command that must succeed; returns its stdout. */
export function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export interface Command {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface SideBySide {
  work: string;
  /** skiff's store root. */
  root: string;
  /** podman's root and run root, for finding its processes. */
  podmanRoot: string;
  /** The busybox rootfs tar both stores imported as IMAGE. */
  tar: string;
  skiff(args: string[]): string;
  podman(args: string[]): string;
  /** The command line and environment of `skiff args` and `podman args`, to time them. */
  skiffCommand(args: string[]): Command;
  podmanCommand(args: string[]): Command;
  cleanup(): void;
}

export function sideBySide(name: string): SideBySide {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `skiff-bench-${name}-`));
  const root = path.join(work, 'store');
  // podman's overlay driver refuses a run root longer than 50 characters: keep it short.
  const podmanRoot = fs.mkdtempSync('/tmp/pm-');
  const conf = path.join(work, 'containers.conf');
  fs.writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n');
  const podmanEnv = { ...process.env, CONTAINERS_CONF: conf };
  const podmanArgs = [
    '--root',
    path.join(podmanRoot, 'r'),
    '--runroot',
    path.join(podmanRoot, 'rr'),
    '--storage-driver',
    'overlay',
  ];
  const skiffBin = path.join(repo, 'bin/skiff');
  const tar = path.join(work, 'rootfs.tar');
  const s: SideBySide = {
    work,
    root,
    podmanRoot,
    tar,
    skiff: (args) => must(skiffBin, ['--root', root, ...args]),
    podman: (args) => must('podman', [...podmanArgs, ...args], podmanEnv),
    skiffCommand: (args) => ({ cmd: skiffBin, args: ['--root', root, ...args], env: process.env }),
    podmanCommand: (args) => ({ cmd: 'podman', args: [...podmanArgs, ...args], env: podmanEnv }),
    cleanup() {
      // The store's bridge and nftables table are host-wide: reset removes them with the store.
      spawnSync(skiffBin, ['--root', root, 'system', 'reset', '-f'], { stdio: 'ignore' });
      spawnSync('podman', [...podmanArgs, 'rm', '-a', '-f', '-t', '0'], { env: podmanEnv, stdio: 'ignore' });
      spawnSync('podman', [...podmanArgs, 'system', 'reset', '-f'], { env: podmanEnv, stdio: 'ignore' });
      fs.rmSync(work, { recursive: true, force: true });
      fs.rmSync(podmanRoot, { recursive: true, force: true });
    },
  };
  execFileSync('bash', [path.join(repo, 'scripts/make-busybox-rootfs.sh'), tar]);
  s.skiff(['import', tar, IMAGE]);
  s.podman(['import', tar, IMAGE]);
  return s;
}
