/**
 * `POST /build`: the classic builder's API, which the docker CLI without buildx, docker-py,
 * compose 1.29 and dockerode use. The body is the context as a tar (the CLI sends it plain and
 * chunked, docker-py with PAX headers, dockerode gzip-compressed); the engine unpacks it into
 * a directory of its own and removes it afterwards, whatever happens.
 *
 * The answer is the classic builder's JSON lines: `Step 1/7 : FROM busybox`, ` ---> <id>`
 * after each step (` ---> Using cache` first when it came from the cache), the RUN steps'
 * output, then `{"aux":{"ID":"sha256:…"}}`, `Successfully built <12 hex>` and one
 * `Successfully tagged <name>` per tag. docker-py and compose fail without the
 * `Successfully built` line; `docker build -q` and `--iidfile` read `aux.ID`. With `q` the
 * only stream line is the ID.
 */
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import { classicBuildLine, InvalidArgument, type Engine } from '../engine.js';
import { formatReference, parseReference } from '../oci/reference.js';
import { familiar } from './container-shapes.js';
import { ProgressStream, requestBody } from './progress-stream.js';
import { buildCredentials } from './registry-auth.js';
import { bool, type Context, type Router } from './router.js';

/** A query value that is a JSON object of strings (`buildargs`, `labels`); null values are left out. */
function stringMap(query: URLSearchParams, name: string): Record<string, string> {
  const text = query.get(name) ?? '';
  if (text === '' || text === 'null') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgument(`build: ${name} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidArgument(`build: ${name} must be a JSON object`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (value === null) continue;
    if (typeof value !== 'string') throw new InvalidArgument(`build: ${name}: \`${key}\` is not a string`);
    out[key] = value;
  }
  return out;
}

function network(query: URLSearchParams): 'host' | 'none' | undefined {
  const mode = query.get('networkmode') ?? '';
  if (mode === '' || mode === 'default' || mode === 'bridge') return undefined;
  if (mode === 'host' || mode === 'none') return mode;
  throw new InvalidArgument(
    `build: networkmode \`${mode}\` is not supported (default, bridge, host or none)`,
  );
}

/** RUN output as `stream` lines; a character split across chunks is kept whole. */
function outputLines(lines: ProgressStream): Writable {
  const decoder = new StringDecoder('utf8');
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = decoder.write(chunk);
      if (text !== '') lines.write({ stream: text });
      done();
    },
    final(done) {
      const text = decoder.end();
      if (text !== '') lines.write({ stream: text });
      done();
    },
  });
}

async function build(ctx: Context, engine: Engine): Promise<void> {
  const q = ctx.query;
  if (q.get('remote'))
    throw new InvalidArgument(
      'build: a remote context (remote=) is not supported; send the context as a tar',
    );
  const version = q.get('version') ?? '1';
  if (version !== '1')
    throw new InvalidArgument(`build: builder version ${version} (BuildKit) is not supported; use version=1`);
  const tags = q.getAll('t').filter((t) => t !== '');
  // Bad names are refused before the context is read.
  const shown = tags.map((t) => familiar(formatReference(parseReference(t))));
  const quiet = bool(q, 'q');
  const options = {
    tags,
    dockerfilePath: q.get('dockerfile') || undefined,
    buildArgs: stringMap(q, 'buildargs'),
    labels: stringMap(q, 'labels'),
    target: q.get('target') || undefined,
    noCache: bool(q, 'nocache'),
    pull: bool(q, 'pull'),
    network: network(q),
    credentials: buildCredentials(ctx.req),
  };
  const lines = new ProgressStream(ctx);
  const output = quiet ? undefined : outputLines(lines);
  try {
    const id = await engine.buildContextArchive(requestBody(ctx.req), {
      ...options,
      signal: lines.signal,
      output,
      onEvent: quiet
        ? undefined
        : (e) => {
            const text = classicBuildLine(e);
            if (text !== '') lines.write({ stream: text });
          },
    });
    lines.write({ aux: { ID: id } });
    if (quiet) lines.write({ stream: `${id}\n` });
    else {
      lines.write({ stream: `Successfully built ${id.slice(7, 19)}\n` });
      for (const name of shown) lines.write({ stream: `Successfully tagged ${name}\n` });
    }
    lines.end();
  } catch (err) {
    lines.end(err);
  }
}

export function buildRoutes(router: Router, engine: Engine): void {
  router.add('POST', '/build', (ctx) => build(ctx, engine));
}
