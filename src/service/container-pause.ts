/** `POST /containers/{id}/pause` and `/unpause`: 204; 409 when not running, or already in that state. */
import type { Engine } from '../engine.js';
import { sendEmpty } from './respond.js';
import type { Router } from './router.js';

export function pauseRoutes(router: Router, engine: Engine): void {
  router
    .add('POST', '/containers/{id}/pause', async (ctx) => {
      await engine.pause(ctx.params['id']!);
      sendEmpty(ctx, 204);
    })
    .add('POST', '/containers/{id}/unpause', async (ctx) => {
      await engine.unpause(ctx.params['id']!);
      sendEmpty(ctx, 204);
    });
}
