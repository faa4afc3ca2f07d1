/**
 * `POST /containers/prune`, `/images/prune`, `/volumes/prune` and `/networks/prune`, with the
 * `filters` the CLI's `--filter` sends (`until`, `label`, `label!`; `dangling` for images:
 * `docker image prune` asks `true`, `-a` asks `false`). Answers list what went and the bytes
 * it freed, under Docker's keys; the CLI prints the list and "Total reclaimed space".
 */
import type { Engine } from '../engine.js';
import { familiar } from './container-shapes.js';
import { sendJson } from './respond.js';
import { filters, type Router } from './router.js';

export function pruneRoutes(router: Router, engine: Engine): void {
  router
    .add('POST', '/containers/prune', async (ctx) => {
      const r = await engine.pruneContainers(filters(ctx.query));
      sendJson(ctx, 200, { ContainersDeleted: r.deleted, SpaceReclaimed: r.spaceReclaimed });
    })
    .add('POST', '/images/prune', async (ctx) => {
      const r = await engine.pruneImages(filters(ctx.query));
      sendJson(ctx, 200, {
        ImagesDeleted: [
          ...r.untagged.map((name) => ({ Untagged: familiar(name) })),
          ...r.deleted.map((id) => ({ Deleted: id })),
        ],
        SpaceReclaimed: r.bytesFreed,
      });
    })
    .add('POST', '/volumes/prune', async (ctx) => {
      const r = await engine.pruneVolumes(filters(ctx.query));
      sendJson(ctx, 200, { VolumesDeleted: r.deleted, SpaceReclaimed: r.spaceReclaimed });
    })
    .add('POST', '/networks/prune', async (ctx) => {
      const r = await engine.pruneNetworks(filters(ctx.query));
      sendJson(ctx, 200, { NetworksDeleted: r.deleted });
    });
}
