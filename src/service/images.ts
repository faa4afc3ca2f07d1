/**
 * Images in the store: inspect, tag, remove, history, save (`GET /images/get`), load and
 * import. Names hold slashes (`127.0.0.1:5000/team/app:1`), so the routes take them with the
 * greedy `{name*}`. Every name shown is in Docker's familiar form (`busybox:latest`), and a
 * name given is read by Docker's short-name rule only (`busybox` is
 * `docker.io/library/busybox:latest`). An image is also found by its ID or a unique prefix of
 * it: docker-py inspects the 12-digit ID a build printed.
 */
import { InvalidArgument, type Engine, type HistoryRow, type ImageInspect } from '../engine.js';
import { familiar } from './container-shapes.js';
import { ProgressStream, requestBody } from './progress-stream.js';
import { sendEmpty, sendJson } from './respond.js';
import { bool, type Context, type Router } from './router.js';
import { unixSeconds } from '../util/timestamps.js';

/** What Docker's image Config holds when unset; the image's own fields go over it. */
const EMPTY_CONFIG = {
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: null,
  Cmd: null,
  Image: '',
  Volumes: null,
  WorkingDir: '',
  Entrypoint: null,
  OnBuild: null,
  Labels: null,
};

/** `GET /images/{name}/json` as Docker answers it. */
export function imageShape(i: ImageInspect): Record<string, unknown> {
  return {
    Id: i.Id,
    RepoTags: i.RepoTags.map(familiar),
    // Which registry digest an image has is not recorded; Docker also shows none for a build.
    RepoDigests: [],
    Parent: '',
    Comment: i.History.at(-1)?.comment ?? '',
    Created: i.Created ?? '',
    Container: '',
    ContainerConfig: EMPTY_CONFIG,
    DockerVersion: '',
    Author: i.History.at(-1)?.author ?? '',
    Config: { ...EMPTY_CONFIG, ...(i.Config as Record<string, unknown>) },
    Architecture: i.Architecture,
    ...(i.Variant ? { Variant: i.Variant } : {}),
    Os: i.Os,
    Size: i.Size,
    VirtualSize: i.Size,
    GraphDriver: { Name: 'overlay2', Data: null },
    RootFS: i.RootFS,
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

function historyShape(rows: HistoryRow[]): Record<string, unknown>[] {
  return rows.map((r) => ({
    Id: r.id,
    Created: unixSeconds(r.created),
    CreatedBy: r.createdBy,
    Tags: r.tags.length > 0 ? r.tags.map(familiar) : null,
    Size: r.size,
    Comment: r.comment,
  }));
}

/**
 * `repo` and `tag` of `tag` and `import` as one name. The CLI sends the repository
 * normalised (`docker.io/library/busybox`); `repo` may carry a tag of its own.
 */
function targetName(query: URLSearchParams, what: string, required: boolean): string | undefined {
  const repo = query.get('repo') ?? '';
  const tag = query.get('tag') ?? '';
  if (repo === '') {
    if (required) throw new InvalidArgument(`${what}: repo is required`);
    if (tag !== '') throw new InvalidArgument(`${what}: a tag needs a repo`);
    return undefined;
  }
  return tag === '' ? repo : `${repo}:${tag}`;
}

async function tag(ctx: Context, engine: Engine): Promise<void> {
  await engine.tag(ctx.params['name']!, targetName(ctx.query, 'tag', true)!);
  sendEmpty(ctx, 201);
}

async function remove(ctx: Context, engine: Engine): Promise<void> {
  // `noprune` is not honoured: untagged parents are not kept as images of their own here.
  const result = await engine.removeImages([ctx.params['name']!], { force: bool(ctx.query, 'force') });
  sendJson(ctx, 200, [
    ...result.untagged.map((name) => ({ Untagged: familiar(name) })),
    ...result.deleted.map((id) => ({ Deleted: id })),
  ]);
}

/** `GET /images/get?names=a&names=b`: a docker-archive tar of the images. */
async function save(ctx: Context, engine: Engine, names: string[]): Promise<void> {
  if (names.length === 0) throw new InvalidArgument('save: no image named (names=)');
  const res = ctx.res!;
  // Taken by the first write; an error before it (no such image) still gets its own status.
  res.setHeader('Content-Type', 'application/x-tar');
  const aborter = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) aborter.abort(new Error('the client closed the connection'));
  });
  await engine.save(names, res, { format: 'docker-archive', signal: aborter.signal });
  res.end();
}

/** `POST /images/load`: a docker-archive or OCI archive in the body. */
async function load(ctx: Context, engine: Engine): Promise<void> {
  const lines = new ProgressStream(ctx);
  try {
    const loaded = await engine.load(requestBody(ctx.req), { signal: lines.signal });
    for (const image of loaded) {
      if (image.tags.length === 0) lines.write({ stream: `Loaded image ID: ${image.id}\n` });
      for (const name of image.tags) lines.write({ stream: `Loaded image: ${familiar(name)}\n` });
    }
    lines.end();
  } catch (err) {
    lines.end(err);
  }
}

/** `POST /images/create?fromSrc=-`: the body is a root file system tar, made a one-layer image. */
export async function importImage(ctx: Context, engine: Engine): Promise<void> {
  const source = ctx.query.get('fromSrc');
  if (source !== '-')
    throw new InvalidArgument(`import: fromSrc \`${source}\`: only the request body (-) is supported`);
  const name = targetName(ctx.query, 'import', false);
  const lines = new ProgressStream(ctx);
  try {
    const imported = await engine.import(requestBody(ctx.req), {
      tag: name,
      changes: ctx.query.getAll('changes').filter((c) => c !== ''),
      message: ctx.query.get('message') || undefined,
      signal: lines.signal,
    });
    lines.write({ status: imported.id });
    lines.end();
  } catch (err) {
    lines.end(err);
  }
}

export function imageRoutes(router: Router, engine: Engine): void {
  router
    // Fixed paths first: `/images/get` is no image called "get".
    .add('GET', '/images/get', (ctx) => save(ctx, engine, ctx.query.getAll('names')))
    .add('POST', '/images/load', (ctx) => load(ctx, engine))
    .add('GET', '/images/{name*}/json', (ctx) =>
      sendJson(ctx, 200, imageShape(engine.inspect(ctx.params['name']!))),
    )
    .add('GET', '/images/{name*}/history', (ctx) =>
      sendJson(ctx, 200, historyShape(engine.history(ctx.params['name']!))),
    )
    .add('GET', '/images/{name*}/get', (ctx) => save(ctx, engine, [ctx.params['name']!]))
    .add('POST', '/images/{name*}/tag', (ctx) => tag(ctx, engine))
    .add('DELETE', '/images/{name*}', (ctx) => remove(ctx, engine));
}
