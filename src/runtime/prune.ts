/**
 * The prunes of containers, volumes and networks (`docker … prune`): what nothing uses goes,
 * narrowed by the `until` and `label` filters (util/prune-filters.ts). The space reclaimed is
 * counted before removal: a container's writable layer, a volume's data.
 *
 * "Used" is judged as Podman does, by every container, not only running ones: a volume or
 * network a stopped container names would make its next start fail.
 */
import { treeSize } from '../store/gc.js';
import { pruneFilter, type PruneFilters } from '../util/prune-filters.js';
import { DEFAULT_NETWORK } from './network/index.js';
import type { CreateOptions } from './records.js';
import { rootfsDirs } from './rootfs.js';
import type { Runtime } from './runtime.js';

export interface PruneResult {
  /** IDs of containers, names of volumes and networks. */
  deleted: string[];
  spaceReclaimed: number;
}

/** Bytes of a container's writable layer: what removing it frees. */
export function writableLayerSize(runtime: Runtime, id: string): number {
  return treeSize(rootfsDirs(runtime.containerDir(id)).upper);
}

/** Every container that is not running. */
export async function pruneContainers(runtime: Runtime, filters: PruneFilters = {}): Promise<PruneResult> {
  const matches = pruneFilter(filters, 'prune containers');
  const result: PruneResult = { deleted: [], spaceReclaimed: 0 };
  for (const c of runtime.list({ all: true })) {
    if (c.state === 'running') continue;
    const options = runtime.inspect(c.id).options;
    if (!matches({ created: c.created, labels: options.labels })) continue;
    const size = writableLayerSize(runtime, c.id);
    await runtime.remove(c.id);
    result.deleted.push(c.id);
    result.spaceReclaimed += size;
  }
  return result;
}

function allOptions(runtime: Runtime): CreateOptions[] {
  return runtime.records.all().map((row) => JSON.parse(row.spec) as CreateOptions);
}

/** Every volume no container names. */
export function pruneVolumes(runtime: Runtime, filters: PruneFilters = {}): PruneResult {
  const matches = pruneFilter(filters, 'prune volumes');
  const result: PruneResult = { deleted: [], spaceReclaimed: 0 };
  for (const v of runtime.volumes.list()) {
    if (v.usedBy.length > 0 || !matches({ created: v.created, labels: v.labels })) continue;
    const size = treeSize(v.mountpoint);
    runtime.volumes.remove(v.name);
    result.deleted.push(v.name);
    result.spaceReclaimed += size;
  }
  return result;
}

/** Every user network no container is on or names; the default network stays. */
export function pruneNetworks(runtime: Runtime, filters: PruneFilters = {}): PruneResult {
  const matches = pruneFilter(filters, 'prune networks');
  const named = new Set<string>();
  for (const o of allOptions(runtime)) {
    named.add(o.network ?? DEFAULT_NETWORK);
    for (const n of o.extraNetworks ?? []) named.add(n.name);
  }
  const result: PruneResult = { deleted: [], spaceReclaimed: 0 };
  for (const n of runtime.networks.list()) {
    if (n.name === DEFAULT_NETWORK || named.has(n.name) || n.containers.length > 0) continue;
    if (!matches({ created: n.created, labels: n.labels })) continue;
    runtime.networks.remove(n.name);
    result.deleted.push(n.name);
  }
  return result;
}
