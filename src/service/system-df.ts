/**
 * `GET /system/df` (`docker system df`): `LayersSize`, and images, containers and volumes in
 * the shapes of their list endpoints plus their sizes — `SharedSize` and `Containers` per image
 * (the CLI counts an image with containers as active and the rest, less what is shared, as
 * reclaimable), `SizeRw`/`SizeRootFs` per container, `UsageData{Size, RefCount}` per volume.
 * skiff keeps no build cache apart from images: `BuildCache` is empty.
 */
import type { Engine } from '../engine.js';
import { containerSummary, familiar } from './container-shapes.js';
import { sendJson } from './respond.js';
import type { Router } from './router.js';

function unix(iso: string | undefined): number {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

export function systemDfRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/system/df', async (ctx) => {
    const usage = await engine.diskUsage();
    sendJson(ctx, 200, {
      LayersSize: usage.layersSize,
      Images: usage.images.map((i) => ({
        Id: i.id,
        ParentId: '',
        RepoTags: i.tags.length ? i.tags.map(familiar) : ['<none>:<none>'],
        RepoDigests: [],
        Created: unix(i.created),
        Size: i.size,
        SharedSize: i.shared,
        VirtualSize: i.size,
        Labels: {},
        Containers: i.containers,
      })),
      Containers: usage.containers.map((c) => ({
        ...containerSummary(c, engine.container(c.id).options),
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
