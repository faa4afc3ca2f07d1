/** The container endpoints: list, create, inspect, start, stop, restart, kill, remove, wait, attach. */
import type { Engine } from '../engine.js';
import { FailedPrecondition, InvalidArgument, NotFound } from '../engine.js';
import type { AttachSessions } from './attach-sessions.js';
import { createOptions } from './container-create.js';
import { containerInspect, containerSummary } from './container-shapes.js';
import { NotModified } from './errors.js';
import { sendEmpty, sendJson } from './respond.js';
import { bool, filters, int, jsonBody, type Context, type Router } from './router.js';
import { hijack } from './streams.js';
import { hasLabel } from '../util/prune-filters.js';

export function containerRoutes(router: Router, engine: Engine, sessions: AttachSessions): void {
  router
    .add('GET', '/containers/json', (ctx) => list(engine, ctx))
    .add('POST', '/containers/create', async (ctx) => {
      const options = createOptions(ctx.query.get('name') ?? undefined, await jsonBody(ctx.req));
      const row = engine.createContainer(options);
      sendJson(ctx, 201, { Id: row.id, Warnings: [] });
    })
    .add('GET', '/containers/{id}/json', (ctx) => {
      const row = engine.container(ctx.params['id']!);
      let image = {};
      try {
        image = (engine.inspect(row.image_id).Config as object | undefined) ?? {};
      } catch {
        // The image was removed under the container; its own options are all there is.
      }
      sendJson(ctx, 200, containerInspect(row, image));
    })
    .add('POST', '/containers/{id}/start', async (ctx) => {
      const row = engine.container(ctx.params['id']!);
      if (row.state === 'running') throw new NotModified(`container ${row.name} is already running`);
      await sessions.start(engine, row.id, row.options.tty ?? false);
      sendEmpty(ctx, 204);
    })
    .add('POST', '/containers/{id}/stop', async (ctx) => {
      const row = engine.container(ctx.params['id']!);
      if (row.state !== 'running') throw new NotModified(`container ${row.name} is not running`);
      await engine.stop(row.id, int(ctx.query, 't'));
      sendEmpty(ctx, 204);
    })
    .add('POST', '/containers/{id}/restart', async (ctx) => {
      await engine.restart(ctx.params['id']!, int(ctx.query, 't'));
      sendEmpty(ctx, 204);
    })
    .add('POST', '/containers/{id}/kill', (ctx) => {
      engine.kill(ctx.params['id']!, ctx.query.get('signal') || 'KILL');
      sendEmpty(ctx, 204);
    })
    .add('DELETE', '/containers/{id}', async (ctx) => {
      await engine.removeContainer(ctx.params['id']!, { force: bool(ctx.query, 'force') });
      sendEmpty(ctx, 204);
    })
    .add('POST', '/containers/{id}/wait', (ctx) => wait(engine, sessions, ctx))
    .add('POST', '/containers/{id}/attach', (ctx) => {
      const row = engine.container(ctx.params['id']!);
      if (row.state === 'running')
        throw new FailedPrecondition(
          `attach container ${row.name}: attaching to a running container is not supported yet; attach before start`,
        );
      // Read and drop a body (dockerode sends its options as JSON) so it is not taken for stdin.
      ctx.req.resume();
      const socket = hijack(ctx, row.options.tty ?? false);
      const logs = bool(ctx.query, 'logs');
      void logs; // A container that has not started has no logs to replay.
      sessions.add(row.id, {
        socket,
        stdin: bool(ctx.query, 'stdin') && (row.options.interactive ?? false),
        stdout: bool(ctx.query, 'stdout'),
        stderr: bool(ctx.query, 'stderr'),
      });
    });
}

function list(engine: Engine, ctx: Context): void {
  const f = filters(ctx.query);
  let rows = engine.containers({ all: bool(ctx.query, 'all') });
  for (const [key, values] of Object.entries(f)) {
    if (values.length === 0) continue;
    rows = rows.filter((c) => {
      if (key === 'status') return values.includes(c.paused ? 'paused' : c.state);
      if (key === 'name') return values.some((v) => c.name.includes(v.replace(/^\//, '')));
      if (key === 'id') return values.some((v) => c.id.startsWith(v));
      // Every label asked for must be there (compose filters on several at once).
      if (key === 'label') return values.every((v) => hasLabel(c.options.labels ?? {}, v));
      return true;
    });
  }
  const limit = int(ctx.query, 'limit');
  if (limit !== undefined && limit > 0) rows = rows.slice(0, limit);
  sendJson(
    ctx,
    200,
    rows.map((c) => containerSummary(c, c.options)),
  );
}

/**
 * `wait`: the 200 and its headers go out at once (the CLI sends wait before start, and must
 * see it accepted), the body `{"StatusCode": N}` at the exit. Conditions: `not-running` (the
 * default: now if not running), `next-exit` (the next `die`), `removed` (the `destroy`, with
 * the status of the `die` before it). Exits are read from the event journal, which every
 * skiff process (conmon's exit command too) writes to.
 */
async function wait(engine: Engine, sessions: AttachSessions, ctx: Context): Promise<void> {
  const condition = ctx.query.get('condition') || 'not-running';
  if (!['not-running', 'next-exit', 'removed'].includes(condition))
    throw new InvalidArgument(`wait: unknown condition \`${condition}\``);
  const since = (Date.now() / 1000).toFixed(9);
  const row = engine.container(ctx.params['id']!);
  const res = ctx.res!;
  if (condition === 'not-running' && row.state !== 'running') {
    await sessions.outputSent(row.id);
    sendJson(ctx, 200, { StatusCode: row.exit_code ?? 0, Error: null });
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  let status: number | undefined;
  try {
    for await (const e of engine.events({
      since,
      filters: { type: ['container'], container: [row.id], event: ['die', 'destroy'] },
      signal: abort.signal,
    })) {
      if (e.action === 'die') {
        status = Number(e.attributes['exitCode'] ?? 0);
        if (condition !== 'removed') break;
      } else if (e.action === 'destroy') {
        status ??= row.exit_code ?? 0;
        break;
      }
    }
  } catch (err) {
    if (!(err instanceof NotFound)) throw err;
  }
  abort.abort();
  // Whoever saw the exit first recorded it, maybe before the attached clients had all the
  // output: they get it before the client that waits hears of the exit.
  await sessions.outputSent(row.id);
  if (status !== undefined) res.end(`${JSON.stringify({ StatusCode: status, Error: null })}\n`);
  else res.end();
}
