/**
 * Resource limits (setrlimit) for the container's process: `--ulimit` parsing, Podman's
 * defaults, and the clamp of docs/host.md#rlimits. A process may lower its hard limits but
 * raising one needs CAP_SYS_RESOURCE, which some hosts (this VM) withhold even from root; the
 * runtime then fails the whole container with `setrlimit RLIMIT_NOFILE: Operation not
 * permitted`. So every limit skiff writes is clamped to the caller's current hard limit —
 * the runtime inherits the caller's limits, so that is exactly what it may set.
 */
import fs from 'node:fs';

import { InvalidArgument } from '../util/errors.js';

export interface Rlimit {
  /** Docker's short name: nofile, nproc, core … */
  type: string;
  /** Infinity means unlimited. */
  soft: number;
  hard: number;
}

/** The runtime-spec form (config.md "POSIX process rlimits"). */
export interface SpecRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** Docker's names (go-units ulimit.go) → the kernel's, in /proc/<pid>/limits wording too. */
const LIMITS: Record<string, { resource: string; label: string }> = {
  cpu: { resource: 'RLIMIT_CPU', label: 'Max cpu time' },
  fsize: { resource: 'RLIMIT_FSIZE', label: 'Max file size' },
  data: { resource: 'RLIMIT_DATA', label: 'Max data size' },
  stack: { resource: 'RLIMIT_STACK', label: 'Max stack size' },
  core: { resource: 'RLIMIT_CORE', label: 'Max core file size' },
  rss: { resource: 'RLIMIT_RSS', label: 'Max resident set' },
  nproc: { resource: 'RLIMIT_NPROC', label: 'Max processes' },
  nofile: { resource: 'RLIMIT_NOFILE', label: 'Max open files' },
  memlock: { resource: 'RLIMIT_MEMLOCK', label: 'Max locked memory' },
  as: { resource: 'RLIMIT_AS', label: 'Max address space' },
  locks: { resource: 'RLIMIT_LOCKS', label: 'Max file locks' },
  sigpending: { resource: 'RLIMIT_SIGPENDING', label: 'Max pending signals' },
  msgqueue: { resource: 'RLIMIT_MSGQUEUE', label: 'Max msgqueue size' },
  nice: { resource: 'RLIMIT_NICE', label: 'Max nice priority' },
  rtprio: { resource: 'RLIMIT_RTPRIO', label: 'Max realtime priority' },
  rttime: { resource: 'RLIMIT_RTTIME', label: 'Max realtime timeout' },
};

/** Podman 4.3 without `default_ulimits` (pkg/specgen/generate `addRlimits`, RLimitDefaultValue). */
export const DEFAULT_RLIMITS: readonly Rlimit[] = [
  { type: 'nofile', soft: 1048576, hard: 1048576 },
  { type: 'nproc', soft: 1048576, hard: 1048576 },
];

/**
 * JSON cannot carry RLIM_INFINITY (2^64-1) through a JS number, so "unlimited" is written as
 * 2^53-1: lowering an unlimited hard limit to it is always allowed, and no resource comes
 * near it (it is 8 PiB, or 285 million years of CPU seconds).
 */
const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** `--ulimit name=soft[:hard]`, as Docker reads it; -1 or "unlimited" means no limit. */
export function parseUlimit(s: string): Rlimit {
  const bad = (cause: string) => new InvalidArgument(`invalid ulimit \`${s}\`: ${cause}`);
  const eq = s.indexOf('=');
  if (eq < 0) throw bad('expected name=soft[:hard]');
  const type = s
    .slice(0, eq)
    .trim()
    .toLowerCase()
    .replace(/^rlimit_/, '');
  if (!(type in LIMITS)) throw bad(`unknown limit \`${type}\` (one of ${Object.keys(LIMITS).join(', ')})`);
  const parts = s.slice(eq + 1).split(':');
  if (parts.length > 2) throw bad('too many values; expected soft[:hard]');
  const value = (text: string): number => {
    const t = text.trim();
    if (t === '-1' || t === 'unlimited') return Infinity;
    if (!/^\d+$/.test(t)) throw bad(`\`${t}\` is not a non-negative integer`);
    const n = Number(t);
    if (!Number.isSafeInteger(n)) throw bad(`\`${t}\` is too large`);
    return n;
  };
  const soft = value(parts[0]!);
  const hard = parts[1] === undefined ? soft : value(parts[1]);
  if (soft > hard) throw bad(`soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { type, soft, hard };
}

/** The caller's limits, by Docker name. Node 20 has no getrlimit, so /proc/self/limits. */
export function hostRlimits(
  limitsText = fs.readFileSync('/proc/self/limits', 'utf8'),
): Map<string, { soft: number; hard: number }> {
  return parseProcLimits(limitsText);
}

/** Parses the text of /proc/<pid>/limits (fs/proc/base.c `proc_pid_limits`). */
export function parseProcLimits(text: string): Map<string, { soft: number; hard: number }> {
  const byLabel = new Map(Object.entries(LIMITS).map(([name, l]) => [l.label, name]));
  const out = new Map<string, { soft: number; hard: number }>();
  for (const line of text.split('\n')) {
    // The label column is 25 wide and may contain spaces; the values follow.
    const label = line.slice(0, 25).trim();
    const name = byLabel.get(label);
    if (name === undefined) continue;
    const [soft, hard] = line.slice(25).trim().split(/\s+/);
    const num = (v: string | undefined) => (v === 'unlimited' ? Infinity : Number(v));
    const s = num(soft);
    const h = num(hard);
    if (Number.isNaN(s) || Number.isNaN(h)) continue;
    out.set(name, { soft: s, hard: h });
  }
  return out;
}

/**
 * The rlimits for config.json: Podman's defaults, overridden by the user's by name, each
 * soft and hard value clamped to the caller's hard limit.
 */
export function specRlimits(
  requested: readonly Rlimit[] = [],
  host: Map<string, { soft: number; hard: number }> = hostRlimits(),
): SpecRlimit[] {
  const merged = new Map<string, Rlimit>();
  for (const r of [...DEFAULT_RLIMITS, ...requested]) {
    const type = r.type.toLowerCase().replace(/^rlimit_/, '');
    if (!(type in LIMITS)) throw new InvalidArgument(`invalid ulimit \`${r.type}\`: unknown limit`);
    merged.set(type, { ...r, type });
  }
  return [...merged.values()].map((r) => {
    const ceiling = host.get(r.type)?.hard ?? Infinity;
    const hard = Math.min(r.hard, ceiling);
    const soft = Math.min(r.soft, hard);
    return { type: LIMITS[r.type]!.resource, hard: finite(hard), soft: finite(soft) };
  });
}

function finite(n: number): number {
  return n === Infinity ? UNLIMITED : n;
}
