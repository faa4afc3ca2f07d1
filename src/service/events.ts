/**
 * `GET /events`: the store's event journal (src/store/events.ts) as JSON lines, one event per
 * line, written as it happens. Past events from `since`, then live ones; with `until` the
 * response ends at that time, otherwise when the client goes away. Filters in either form.
 */
import { asDockerEvent, type Engine } from '../engine.js';
import { filters, type Context, type Router } from './router.js';

export function eventRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/events', (ctx) => events(engine, ctx));
}

async function events(engine: Engine, ctx: Context): Promise<void> {
  const q = ctx.query;
  const abort = new AbortController();
  // Times and filters are parsed here, and refused with a 400, before the 200 goes out.
  const stream = engine.events({
    since: q.get('since') || undefined,
    until: q.get('until') || undefined,
    filters: filters(q),
    signal: abort.signal,
  });
  const res = ctx.res!;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  res.on('close', () => abort.abort());
  try {
    for await (const event of stream) res.write(`${JSON.stringify(asDockerEvent(event))}\n`);
  } finally {
    abort.abort();
  }
  res.end();
}
