/**
 * cgroup limits: parsing `--memory`, `--cpus` the way the Docker CLI does, and the
 * `linux.resources` section of config.json (runtime-spec config-linux.md "Control groups"),
 * which crun and runc apply on cgroup v1 and v2 alike.
 */
import fs from 'node:fs';
import os from 'node:os';

import { InvalidArgument } from '../util/errors.js';

/** Docker's daemon refuses less ("Minimum memory limit allowed is 6MB"): the runtime itself needs some. */
export const MIN_MEMORY = 6 * 1024 * 1024;

/** Podman's default (containers.conf `pids_limit`): a fork bomb stops at 2048 tasks. */
export const DEFAULT_PIDS_LIMIT = 2048;

/** CFS period; quota = cpus × period (Docker's `--cpus`). */
export const CPU_PERIOD = 100_000;

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * "256m", "1g", "512k", "1.5g", "1024", "64MiB" → bytes, binary units as go-units
 * `RAMInBytes`. With `allowUnlimited`, "-1" is returned as -1 (for `--memory-swap -1`).
 */
export function parseMemory(s: string, options: { allowUnlimited?: boolean } = {}): number {
  const text = s.trim();
  if (options.allowUnlimited === true && text === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?) ?(?:([kmgtp])i?)?b?$/i.exec(text);
  if (!m) {
    throw new InvalidArgument(`invalid memory \`${s}\`: expected a size such as 512k, 256m or 1g`);
  }
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgument(`invalid memory \`${s}\`: too large`);
  return bytes;
}

/** "0.5", "2" → cores; Docker's range: 0.01 up to the host's CPU count. */
export function parseCpus(s: string, options: { cpuCount?: number } = {}): number {
  const cpuCount = options.cpuCount ?? os.availableParallelism();
  const text = s.trim();
  if (!/^\d*\.?\d+$/.test(text))
    throw new InvalidArgument(`invalid cpus \`${s}\`: expected a number of CPUs such as 0.5 or 2`);
  const cpus = Number(text);
  if (cpus < 0.01 || cpus > cpuCount) {
    throw new InvalidArgument(
      `invalid cpus \`${s}\`: range of CPUs is from 0.01 to ${cpuCount.toFixed(2)}, as there are only ${cpuCount} CPUs available`,
    );
  }
  return cpus;
}

export interface ResourceInput {
  memory?: number;
  /** Memory plus swap; -1 = unlimited swap; default twice the memory, as Docker and Podman. */
  memorySwap?: number;
  cpus?: number;
  cpuShares?: number;
  /** ≤ 0 = no limit. */
  pidsLimit?: number;
  privileged?: boolean;
}

export interface LinuxResources {
  devices: { allow: boolean; access: string }[];
  memory?: { limit: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number };
  pids?: { limit: number };
}

/** The `linux.resources` section; throws InvalidArgument for limits no runtime would accept. */
export function linuxResources(
  input: ResourceInput,
  options: { swapSupported?: boolean } = {},
): LinuxResources {
  // Device cgroup: deny all, then crun/runc allow the standard nodes they create in /dev.
  const resources: LinuxResources = { devices: [{ allow: input.privileged === true, access: 'rwm' }] };

  const { memory, memorySwap } = input;
  if (memory !== undefined && memory !== 0) {
    if (!Number.isSafeInteger(memory) || memory < MIN_MEMORY) {
      throw new InvalidArgument(`invalid memory \`${memory}\`: minimum memory limit allowed is 6MB`);
    }
    resources.memory = { limit: memory };
    if (options.swapSupported ?? swapLimitSupported()) {
      if (memorySwap === undefined || memorySwap === 0) resources.memory.swap = memory * 2;
      else if (memorySwap === -1) resources.memory.swap = -1;
      else if (memorySwap < memory) {
        throw new InvalidArgument(
          `invalid memory swap \`${memorySwap}\`: must be at least the memory limit (${memory}), or -1 for unlimited`,
        );
      } else resources.memory.swap = memorySwap;
    }
  } else if (memorySwap !== undefined && memorySwap !== 0) {
    throw new InvalidArgument('invalid memory swap: set --memory too when setting --memory-swap');
  }

  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (input.cpus !== undefined && input.cpus !== 0) {
    if (!(input.cpus >= 0.01))
      throw new InvalidArgument(`invalid cpus \`${input.cpus}\`: the minimum is 0.01`);
    cpu.quota = Math.round(input.cpus * CPU_PERIOD);
    cpu.period = CPU_PERIOD;
  }
  if (input.cpuShares !== undefined && input.cpuShares !== 0) {
    // The kernel's bounds for cpu.shares (MIN_SHARES, MAX_SHARES).
    if (!Number.isInteger(input.cpuShares) || input.cpuShares < 2 || input.cpuShares > 262144) {
      throw new InvalidArgument(
        `invalid cpu shares \`${input.cpuShares}\`: expected an integer from 2 to 262144`,
      );
    }
    cpu.shares = input.cpuShares;
  }
  if (Object.keys(cpu).length > 0) resources.cpu = cpu;

  const pids = input.pidsLimit ?? DEFAULT_PIDS_LIMIT;
  if (!Number.isInteger(pids))
    throw new InvalidArgument(`invalid pids limit \`${pids}\`: expected an integer`);
  if (pids > 0) resources.pids = { limit: pids };
  return resources;
}

/**
 * Whether the host can limit memory+swap: cgroup v1 only has `memory.memsw.*` when the kernel
 * accounts swap (swapaccount=1); writing a swap limit without it fails the container.
 * cgroup v2 always has `memory.swap.max`.
 */
export function swapLimitSupported(cgroupRoot = '/sys/fs/cgroup'): boolean {
  if (fs.existsSync(`${cgroupRoot}/cgroup.controllers`)) return true;
  return fs.existsSync(`${cgroupRoot}/memory/memory.memsw.limit_in_bytes`);
}
