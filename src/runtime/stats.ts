/**
 * One reading of a running container's resource use: CPU time, memory, pids and block I/O from
 * its cgroup (v1 file names or v2 ones, whichever hierarchy holds the controller), network
 * counters from /proc/<pid>/net/dev, which shows the devices of the process's own network
 * namespace. Everything in bytes and nanoseconds; CPU percentages are the reader's to make
 * from two readings, as Docker's clients do.
 */
import fs from 'node:fs';
import os from 'node:os';
import { Cgroup } from './cgroup.js';
import type { ContainerRow, CreateOptions } from './records.js';

/** USER_HZ: the unit of cpuacct.stat and /proc/stat (100 on every Linux ABI skiff runs on). */
const CLOCK_TICKS = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS;

export interface NetworkCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

export interface BlockIo {
  major: number;
  minor: number;
  /** `Read`, `Write`, … (cgroup v1) or `read`, `write` (v2), as Docker reports them. */
  op: string;
  value: number;
}

export interface ContainerStats {
  /** When this reading was taken (RFC 3339). */
  read: string;
  cpu: {
    /** CPU time the container's processes used, ns. */
    total: number;
    /** Per CPU (cgroup v1 only). */
    perCpu?: number[];
    user: number;
    system: number;
    /** CPU time the whole host used since boot, ns: the denominator of a percentage. */
    host: number;
    onlineCpus: number;
  };
  memory: { usage: number; limit: number; stats: Record<string, number> };
  pids: { current: number; limit?: number };
  /** By interface, loopback left out; absent for a container on the host's network. */
  networks?: Record<string, NetworkCounters>;
  blkio: BlockIo[];
}

/** A reading of the container whose init process is `pid`; undefined once it is gone. */
export function readStats(pid: number, options: { hostNetwork?: boolean } = {}): ContainerStats | undefined {
  const cgroup = Cgroup.of(pid);
  if (!cgroup) return undefined;
  const read = new Date().toISOString();
  const stats: ContainerStats = {
    read,
    cpu: { ...cpu(cgroup), host: hostCpu(), onlineCpus: os.cpus().length },
    memory: memory(cgroup),
    pids: pids(cgroup),
    blkio: blkio(cgroup),
  };
  if (!options.hostNetwork) {
    try {
      stats.networks = parseNetDev(fs.readFileSync(`/proc/${pid}/net/dev`, 'utf8'));
    } catch {
      // The process is gone between two reads: no counters this time.
    }
  }
  return stats;
}

function cpu(cgroup: Cgroup): Omit<ContainerStats['cpu'], 'host' | 'onlineCpus'> {
  if (cgroup.unified('cpuacct')) {
    const stat = parseKeyValues(cgroup.read('cpu', 'cpu.stat') ?? '');
    return {
      total: (stat['usage_usec'] ?? 0) * 1000,
      user: (stat['user_usec'] ?? 0) * 1000,
      system: (stat['system_usec'] ?? 0) * 1000,
    };
  }
  const stat = parseKeyValues(cgroup.read('cpuacct', 'cpuacct.stat') ?? '');
  const perCpu = numbers(cgroup.read('cpuacct', 'cpuacct.usage_percpu') ?? '');
  return {
    total: Number(cgroup.read('cpuacct', 'cpuacct.usage') ?? 0) || 0,
    ...(perCpu.length > 0 ? { perCpu } : {}),
    user: (stat['user'] ?? 0) * NS_PER_TICK,
    system: (stat['system'] ?? 0) * NS_PER_TICK,
  };
}

/** The host's CPU time since boot, as Docker counts it (the first seven fields of `cpu`). */
function hostCpu(): number {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    return numbers(line.replace(/^cpu\s+/, ''))
      .slice(0, 7)
      .reduce((sum, n) => sum + n * NS_PER_TICK, 0);
  } catch {
    return 0;
  }
}

function memory(cgroup: Cgroup): ContainerStats['memory'] {
  const v2 = cgroup.unified('memory');
  const usage = Number(cgroup.read('memory', v2 ? 'memory.current' : 'memory.usage_in_bytes') ?? 0) || 0;
  const rawLimit = (cgroup.read('memory', v2 ? 'memory.max' : 'memory.limit_in_bytes') ?? '').trim();
  // No limit reads as `max` (v2) or a page-rounded 2^63 (v1): the host's memory is the limit then.
  const host = os.totalmem();
  const limit = /^\d+$/.test(rawLimit) ? Math.min(Number(rawLimit), host) : host;
  return { usage, limit, stats: parseKeyValues(cgroup.read('memory', 'memory.stat') ?? '') };
}

function pids(cgroup: Cgroup): ContainerStats['pids'] {
  const current = Number(cgroup.read('pids', 'pids.current') ?? 0) || 0;
  const max = (cgroup.read('pids', 'pids.max') ?? '').trim();
  return /^\d+$/.test(max) ? { current, limit: Number(max) } : { current };
}

function blkio(cgroup: Cgroup): BlockIo[] {
  if (cgroup.unified('blkio')) return parseIoStat(cgroup.read('io', 'io.stat') ?? '');
  return parseBlkio(
    cgroup.read('blkio', 'blkio.throttle.io_service_bytes_recursive') ??
      cgroup.read('blkio', 'blkio.io_service_bytes_recursive') ??
      '',
  );
}

/** `key value` lines (memory.stat, cpu.stat, cpuacct.stat) as numbers. */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out[key] = Number(value);
  }
  return out;
}

function numbers(text: string): number[] {
  return text
    .trim()
    .split(/\s+/)
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** cgroup v1 `blkio.*io_service_bytes*`: `MAJ:MIN Op value` lines and a `Total` line (dropped). */
export function parseBlkio(text: string): BlockIo[] {
  const out: BlockIo[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out;
}

/** cgroup v2 `io.stat`: `MAJ:MIN rbytes=N wbytes=N …`, as Docker's `read` and `write` entries. */
export function parseIoStat(text: string): BlockIo[] {
  const out: BlockIo[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const values = Object.fromEntries(m[3]!.split(/\s+/).map((kv) => kv.split('=') as [string, string]));
    for (const [key, op] of [
      ['rbytes', 'read'],
      ['wbytes', 'write'],
    ] as const) {
      if (values[key] !== undefined)
        out.push({ major: Number(m[1]), minor: Number(m[2]), op, value: Number(values[key]) });
    }
  }
  return out;
}

/** /proc/net/dev: two header lines, then `name: 8 receive counters 8 transmit counters`. */
export function parseNetDev(text: string): Record<string, NetworkCounters> {
  const out: Record<string, NetworkCounters> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const n = numbers(line.slice(colon + 1));
    if (name === 'lo' || n.length < 16) continue;
    out[name] = {
      rxBytes: n[0]!,
      rxPackets: n[1]!,
      rxErrors: n[2]!,
      rxDropped: n[3]!,
      txBytes: n[8]!,
      txPackets: n[9]!,
      txErrors: n[10]!,
      txDropped: n[11]!,
    };
  }
  return out;
}

/** A reading of a container (its row); undefined when it is not running. */
export function containerStats(row: ContainerRow): ContainerStats | undefined {
  if (row.state !== 'running' || !row.pid) return undefined;
  const options = JSON.parse(row.spec) as CreateOptions;
  return readStats(row.pid, { hostNetwork: options.network === 'host' });
}
