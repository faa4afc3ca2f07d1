/**
 * `docker cp`: `HEAD`, `GET` and `PUT /containers/{id}/archive?path=`. HEAD and GET carry the
 * path's stat in `X-Docker-Container-Path-Stat` (base64 of Docker's JSON; the CLI reads the
 * mode's directory and symlink bits from it), GET the tar of the path; a missing path is a
 * 404 (after which the CLI looks at the parent). PUT extracts the tar in its body (chunked,
 * `Content-Type: text/plain` from the CLI, so the type is not checked) into the directory
 * `path` and answers 200 with no body; the files become root's unless `copyUIDGID` (`cp -a`)
 * keeps the archive's owners.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgument, type Engine, type PathStat } from '../engine.js';
import { bool, type Context, type Router } from './router.js';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function pathOf(ctx: Context): string {
  const p = ctx.query.get('path');
  if (!p) throw new InvalidArgument('archive: the path query parameter is required');
  return p;
}

function statHeader(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

export function archiveRoutes(router: Router, engine: Engine): void {
  router
    .add('HEAD', '/containers/{id}/archive', async (ctx) => {
      const stat = await engine.containerPathStat(ctx.params['id']!, pathOf(ctx));
      ctx.res!.writeHead(200, { [STAT_HEADER]: statHeader(stat), 'Content-Length': 0 });
      ctx.res!.end();
    })
    .add('GET', '/containers/{id}/archive', (ctx) => getArchive(engine, ctx))
    .add('PUT', '/containers/{id}/archive', async (ctx) => {
      const abort = new AbortController();
      ctx.req.on('close', () => {
        if (!ctx.req.complete) abort.abort();
      });
      await engine.extractToContainer(ctx.params['id']!, pathOf(ctx), ctx.req, {
        noOverwriteDirNonDir: bool(ctx.query, 'noOverwriteDirNonDir'),
        copyUIDGID: bool(ctx.query, 'copyUIDGID'),
        signal: abort.signal,
      });
      ctx.res!.writeHead(200, { 'Content-Length': 0 });
      ctx.res!.end();
    });
}

async function getArchive(engine: Engine, ctx: Context): Promise<void> {
  const res = ctx.res!;
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const archive = await engine.containerArchive(ctx.params['id']!, pathOf(ctx), { signal: abort.signal });
  try {
    res.writeHead(200, { 'Content-Type': 'application/x-tar', [STAT_HEADER]: statHeader(archive.stat) });
    await pipeline(Readable.from(archive.tar), res);
  } catch (err) {
    // A client that went away ends the stream; anything else is for the log.
    if (!abort.signal.aborted) throw err;
  } finally {
    archive.close();
  }
}
