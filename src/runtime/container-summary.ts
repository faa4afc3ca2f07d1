/** What `ps` shows of a container, from its row and its image's config. */
import type { ContainerConfig } from '../oci/config.js';
import type { HealthState } from './health.js';
import { isPaused } from './pause.js';
import { parsePublish, type PortMapping } from './network/index.js';
import type { ContainerRow, CreateOptions } from './records.js';

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  imageId: string;
  command: string;
  created: string;
  state: ContainerRow['state'];
  exitCode: number | null;
  started: string | null;
  finished: string | null;
  ports: PortMapping[];
  /** starting | healthy | unhealthy while a health check runs; absent without one. */
  health?: HealthState['status'];
  /** Running, with its processes frozen (`pause`); absent otherwise. */
  paused?: true;
  /** What it was created with (labels, networks, …), for shapes that show more than `ps`. */
  options: CreateOptions;
}

/**
 * What `ps` lists. The command is the one the container runs: its own entrypoint and command
 * over the image's, as the spec has them (an entrypoint given resets the image's Cmd).
 * `resolvedPorts`: the published ports of a running container, from its network record.
 */
export function summary(
  row: ContainerRow,
  imageConfig: () => ContainerConfig,
  resolvedPorts?: PortMapping[],
): ContainerSummary {
  const o = JSON.parse(row.spec) as CreateOptions;
  let image: ContainerConfig = {};
  try {
    if (o.entrypoint === undefined || !o.command?.length) image = imageConfig();
  } catch {
    // The image is gone (removed with -f): the container's own options are all there is.
  }
  const entrypoint = o.entrypoint ?? image.Entrypoint ?? [];
  const command = o.command?.length ? o.command : o.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  return {
    id: row.id,
    name: row.name,
    image: row.image_name,
    imageId: row.image_id,
    command: [...entrypoint, ...command].join(' '),
    created: row.created,
    state: row.state,
    exitCode: row.exit_code,
    started: row.started,
    finished: row.finished,
    // While it runs, the ports as published (a random host port resolved); else as asked.
    ports: resolvedPorts ?? (o.publish ?? []).flatMap(parsePublish),
    ...(row.state === 'running' && row.health
      ? { health: (JSON.parse(row.health) as HealthState).status }
      : {}),
    ...(isPaused(row) ? { paused: true as const } : {}),
    options: o,
  };
}
