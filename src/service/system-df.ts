/**
 * `GET /system/df` (`docker system df`): `LayersSize`, and images, containers and volumes in
 * the shapes of their list endpoints plus their sizes — `SharedSize` and `Containers` per image
 * (the CLI counts an image with containers as active and the rest, less what is shared, as
 * reclaimable), `SizeRw`/`SizeRootFs` per container, `UsageData{Size, RefCount}` per volume.
 * skiff keeps no build cache apart from images: `BuildCache` is empty.
 */
import type { Engine } from '../engine.js';
import { containerSummary, imageSummaryShape } from './container-shapes.js';
import { sendJson } from './respond.js';
import type { Router } from './router.js';

export function systemDfRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/system/df', async (ctx) => {
    const usage = await engine.diskUsage();
    sendJson(ctx, 200, {
      LayersSize: usage.layersSize,
      Images: usage.images.map((i) =>
        imageSummaryShape(i, { sharedSize: i.shared, containers: i.containers }),
      ),
      Containers: usage.containers.map((c) => ({
        ...containerSummary(c, c.options),
        SizeRw: c.sizeRw,
        SizeRootFs: c.sizeRootFs,
      })),
      Volumes: usage.volumes.map((v) => ({
        Name: v.name,
        Driver: 'local',
        Mountpoint: v.mountpoint,
        Labels: {},
        Scope: 'local',
        Options: {},
        UsageData: { Size: v.size, RefCount: v.refCount },
      })),
      BuildCache: [],
    });
  });
}
