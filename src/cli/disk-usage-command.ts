/**
 * `skiff system df`: what images, containers and volumes take, as `docker system df` shows it
 * (TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE). Images count each layer once; what pruning images
 * could reclaim is the layers no container's image uses. `--format json` prints it all.
 */
import type { Engine } from '../engine.js';
import { humanSize } from '../util/format.js';
import { formatFlag, needArgs, parseArgs } from './args.js';
import type { Output } from './output.js';
import { SYSTEM_DF } from './system-flags.js';
import { table } from './table.js';

function share(part: number, whole: number): string {
  return `${humanSize(part)} (${whole === 0 ? 0 : Math.round((part / whole) * 100)}%)`;
}

export async function diskUsageCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, SYSTEM_DF);
  needArgs(p, SYSTEM_DF, 0, 0);
  const format = formatFlag(p, 'system df', ['table', 'json']);
  const usage = await engine.diskUsage();
  if (format === 'json') {
    out.stdout(`${JSON.stringify(usage, null, 2)}\n`);
    return 0;
  }
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const containersSize = sum(usage.containers.map((c) => c.sizeRw));
  const stopped = sum(usage.containers.filter((c) => c.state !== 'running').map((c) => c.sizeRw));
  const volumesSize = sum(usage.volumes.map((v) => v.size));
  const unused = sum(usage.volumes.filter((v) => v.refCount === 0).map((v) => v.size));
  out.stdout(
    table(
      ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
      [
        [
          'Images',
          String(usage.images.length),
          String(usage.images.filter((i) => i.containers > 0).length),
          humanSize(usage.layersSize),
          share(usage.imagesReclaimable, usage.layersSize),
        ],
        [
          'Containers',
          String(usage.containers.length),
          String(usage.containers.filter((c) => c.state === 'running').length),
          humanSize(containersSize),
          share(stopped, containersSize),
        ],
        [
          'Local Volumes',
          String(usage.volumes.length),
          String(usage.volumes.filter((v) => v.refCount > 0).length),
          humanSize(volumesSize),
          share(unused, volumesSize),
        ],
      ],
    ),
  );
  return 0;
}
