/**
 * Pull (`POST /images/create?fromImage=`) and push (`POST /images/{name}/push`), with the
 * progress lines the docker CLI draws: per layer, by the first 12 hex digits of its digest,
 * `Pulling fs layer` → `Downloading` → `Download complete` → `Pull complete` (or `Already
 * exists`), then `Digest:` and `Status:`; for a push `Preparing` → `Pushing` → `Pushed` (or
 * `Layer already exists`), then `<tag>: digest: … size: …` and the `aux` message that
 * `docker push` and the SDKs read. Credentials come from `X-Registry-Auth` (registry-auth.ts).
 *
 * A pull that fails before its first line (no such image, no such registry) is a real 404 or
 * 500, as dockerd answers (testcontainers believes the status, not the stream).
 */
import { InvalidArgument, NotFound, type Engine, type ProgressEvent } from '../engine.js';
import { parsePlatform } from '../oci/platform.js';
import { familiarString, formatReference, parseReference, type Reference } from '../oci/reference.js';
import { humanSize } from '../util/format.js';
import { familiar } from './container-shapes.js';
import { importImage } from './images.js';
import { ProgressStream } from './progress-stream.js';
import { pullPushCredentials } from './registry-auth.js';
import type { Context, Router } from './router.js';

/** The 12 hex digits Docker names a layer by in progress lines. */
function layerId(e: ProgressEvent): string {
  const key = e.id ?? e.digest;
  const colon = key.indexOf(':');
  return key.slice(colon + 1, colon + 13);
}

/** Docker's progress bar, which the CLI shows on a terminal: `[====>     ]  1.2MB/3.4MB`. */
function progressLine(e: ProgressEvent, status: string, id: string): Record<string, unknown> {
  const current = e.bytes ?? 0;
  const total = e.total ?? 0;
  const width = 50;
  const filled = total > 0 ? Math.min(width, Math.floor((current / total) * width)) : 0;
  const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
  return {
    status,
    progressDetail: { current, total },
    progress: `${bar}  ${humanSize(current)}/${humanSize(total)}`,
    id,
  };
}

function line(status: string, id: string): Record<string, unknown> {
  return { status, progressDetail: {}, id };
}

/** `fromImage` and `tag` as one reference; `fromImage` may carry its own tag (dockerode). */
function pullReference(query: URLSearchParams): string {
  const image = query.get('fromImage') ?? '';
  if (image === '') throw new InvalidArgument('pull: fromImage (or fromSrc) is required');
  const tag = query.get('tag') ?? '';
  if (tag === '') return image;
  const ref = parseReference(image, { defaultTag: false });
  if (ref.tag !== undefined || ref.digest !== undefined) return image;
  return tag.includes(':') ? `${image}@${tag}` : `${image}:${tag}`;
}

async function pull(ctx: Context, engine: Engine): Promise<void> {
  const reference = pullReference(ctx.query);
  const ref = parseReference(reference);
  const credentials = pullPushCredentials(ctx.req, reference);
  const platformText = ctx.query.get('platform') ?? '';
  const platform = platformText === '' ? undefined : parsePlatform(platformText);
  const lines = new ProgressStream(ctx);
  // The first line waits for the first layer: by then the manifest was found.
  const heading = () => {
    if (!lines.started) lines.write({ status: `Pulling from ${ref.repository}`, id: ref.tag ?? ref.digest });
  };
  const seen = new Set<string>();
  const onProgress = (e: ProgressEvent) => {
    if (e.kind !== 'layer') return;
    heading();
    const id = layerId(e);
    if (e.phase === 'exists') {
      lines.write(line('Already exists', id));
      return;
    }
    if (!seen.has(id)) {
      seen.add(id);
      lines.write(line('Pulling fs layer', id));
    }
    switch (e.phase) {
      case 'downloading':
        lines.write(progressLine(e, 'Downloading', id));
        break;
      case 'verifying':
        lines.write(line('Verifying Checksum', id));
        break;
      case 'retrying':
        lines.write(line(`Retrying: ${e.reason ?? ''}`, id));
        break;
      case 'done':
        lines.write(line('Download complete', id));
        lines.write(line('Pull complete', id));
        break;
    }
  };
  // "Up to date" means the name already named this image, as dockerd tells it.
  const before = localImage(engine, reference);
  try {
    const result = await engine.pull(reference, { platform, credentials, onProgress, signal: lines.signal });
    heading();
    lines.write({ status: `Digest: ${result.indexDigest ?? result.manifestDigest}` });
    const news = before === result.imageId ? 'Image is up to date for' : 'Downloaded newer image for';
    lines.write({ status: `Status: ${news} ${familiarString(ref)}` });
    lines.end();
  } catch (err) {
    lines.end(err);
  }
}

/** The image `reference` names here, if any. */
function localImage(engine: Engine, reference: string): string | undefined {
  try {
    return engine.imageId(reference);
  } catch (err) {
    if (err instanceof NotFound) return undefined;
    throw err;
  }
}

/** The tags `push` sends: the one asked for, or every local tag of the repository. */
function pushTags(engine: Engine, name: string, tag: string): Reference[] {
  const repository = parseReference(name, { defaultTag: false });
  if (repository.tag !== undefined || repository.digest !== undefined)
    throw new InvalidArgument(`push \`${name}\`: name the tag with tag=, not in the path`);
  if (tag !== '') {
    const ref = { ...repository, tag };
    // Refused before the 200: a missing image is a real 404.
    engine.imageId(formatReference(ref));
    return [ref];
  }
  const tags = engine
    .images({ reference: name })
    .flatMap((i) => i.tags)
    .map((t) => parseReference(t));
  if (tags.length === 0)
    throw new NotFound(`push \`${familiar(name)}\`: no image of that repository is tagged here`, {
      code: 'IMAGE_NOT_FOUND',
    });
  return tags;
}

async function push(ctx: Context, engine: Engine): Promise<void> {
  const name = ctx.params['name']!;
  const tags = pushTags(engine, name, ctx.query.get('tag') ?? '');
  const credentials = pullPushCredentials(ctx.req, name);
  const lines = new ProgressStream(ctx);
  const repository = `${tags[0]!.registry}/${tags[0]!.repository}`;
  lines.write({ status: `The push refers to repository [${repository}]` });
  const onProgress = (e: ProgressEvent) => {
    if (e.kind !== 'layer') return;
    const id = layerId(e);
    switch (e.phase) {
      case 'waiting':
        lines.write(line('Preparing', id));
        break;
      case 'uploading':
        lines.write(progressLine(e, 'Pushing', id));
        break;
      case 'exists':
        lines.write(line('Layer already exists', id));
        break;
      case 'mounted':
        lines.write(line(`Mounted from ${e.from ?? ''}`, id));
        break;
      case 'retrying':
        lines.write(line(`Retrying: ${e.reason ?? ''}`, id));
        break;
      case 'done':
        lines.write(line('Pushed', id));
        break;
    }
  };
  try {
    for (const ref of tags) {
      const result = await engine.push(formatReference(ref), undefined, {
        credentials,
        onProgress,
        signal: lines.signal,
      });
      lines.write({ status: `${ref.tag}: digest: ${result.digest} size: ${result.size}` });
      lines.write({ progressDetail: {}, aux: { Tag: ref.tag, Digest: result.digest, Size: result.size } });
    }
    lines.end();
  } catch (err) {
    lines.end(err);
  }
}

export function registryTransferRoutes(router: Router, engine: Engine): void {
  router
    // One endpoint, two verbs: `fromSrc` imports the body, `fromImage` pulls.
    .add('POST', '/images/create', (ctx) =>
      ctx.query.has('fromSrc') ? importImage(ctx, engine) : pull(ctx, engine),
    )
    .add('POST', '/images/{name*}/push', (ctx) => push(ctx, engine));
}
