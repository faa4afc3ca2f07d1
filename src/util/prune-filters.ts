/**
 * The `filters` of Docker's prune endpoints (`docker … prune --filter`), shared by containers,
 * images, volumes and networks: `until` (only what was created before that time) and `label` /
 * `label!` (`key` or `key=value`; every `label` must match, no `label!` may). Keys a prune does
 * not know are refused, as Docker refuses them, rather than ignored: a filter dropped silently
 * would prune more than asked.
 */
import { InvalidArgument } from './errors.js';
import { parseTimestamp } from './timestamps.js';

export interface PruneCandidate {
  /** RFC 3339; an object without one is never too young to prune. */
  created?: string | null;
  labels?: Record<string, string>;
}

export type PruneFilters = Record<string, string[]>;

/** Docker's label test: `key` is there, or `key=value` is its value. */
export function hasLabel(labels: Record<string, string>, wanted: string): boolean {
  const eq = wanted.indexOf('=');
  if (eq < 0) return wanted in labels;
  return labels[wanted.slice(0, eq)] === wanted.slice(eq + 1);
}

/**
 * A predicate over candidates for `filters`; `extra` names the further keys the caller reads
 * itself (`dangling` for images), which are let through here.
 */
export function pruneFilter(
  filters: PruneFilters,
  what: string,
  extra: string[] = [],
  nowMs = Date.now(),
): (candidate: PruneCandidate) => boolean {
  for (const key of Object.keys(filters)) {
    if (!['until', 'label', 'label!', ...extra].includes(key))
      throw new InvalidArgument(`${what}: invalid filter \`${key}\``);
  }
  const untils = (filters['until'] ?? []).map((t) => parseTimestamp(t, 'the until filter', nowMs));
  if (untils.length > 1) throw new InvalidArgument(`${what}: more than one until filter`);
  const until = untils[0];
  const labels = filters['label'] ?? [];
  const notLabels = filters['label!'] ?? [];
  return (candidate) => {
    if (until !== undefined && candidate.created) {
      const ms = Date.parse(candidate.created);
      if (!Number.isNaN(ms) && BigInt(ms) * 1_000_000n >= until) return false;
    }
    const own = candidate.labels ?? {};
    return labels.every((l) => hasLabel(own, l)) && !notLabels.some((l) => hasLabel(own, l));
  };
}
