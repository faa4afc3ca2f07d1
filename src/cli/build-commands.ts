/** `skiff build`: a Dockerfile and its context become an image; output like `docker build`'s. */
import fs from 'node:fs';
import path from 'node:path';
import { classicBuildLine, type BuildEvent, type BuildStreamOptions, type Engine } from '../engine.js';
import { InvalidArgument } from '../util/errors.js';
import { bool, list, needArgs, parseArgs, str } from './args.js';
import { TtyProgress } from './build-progress.js';
import { BUILD } from './image-flags.js';
import type { Output } from './output.js';

export async function buildCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, BUILD);
  needArgs(p, BUILD, 1, 1);
  if (p.positionals[0] === '-' && str(p, 'file') === '-') {
    throw new InvalidArgument('build: stdin cannot be both the context and the Dockerfile (-f -)');
  }
  return build(engine, p, out);
}

async function build(engine: Engine, p: ReturnType<typeof parseArgs>, out: Output): Promise<number> {
  const context = p.positionals[0]!;
  // `-`: stdin is the context archive (-f a path in it) or the Dockerfile; Engine tells which.
  const fromStdin = context === '-';
  const fileFlag = str(p, 'file');
  const dockerfilePath = fileFlag ?? path.join(context, 'Dockerfile');
  const dockerfile = fromStdin
    ? undefined
    : dockerfilePath === '-'
      ? fs.readFileSync(0, 'utf8')
      : readDockerfile(dockerfilePath);
  const network = str(p, 'network');
  if (network !== undefined && !['bridge', 'default', 'none', 'host'].includes(network)) {
    throw new InvalidArgument(`build: invalid --network \`${network}\` (bridge, none or host)`);
  }
  const asked = str(p, 'progress') ?? 'auto';
  if (!['plain', 'tty', 'auto', 'json'].includes(asked)) {
    throw new InvalidArgument(`build: invalid --progress \`${asked}\` (auto, plain, tty or json)`);
  }
  const progress = asked === 'auto' ? (process.stdout.isTTY ? 'tty' : 'plain') : asked;
  const quiet = bool(p, 'quiet');
  const explain = bool(p, 'explain-cache');
  const started = performance.now();
  const tty = quiet || progress !== 'tty' ? undefined : new TtyProgress((t) => out.stdout(t), explain);
  const onEvent = quiet
    ? undefined
    : progress === 'json'
      ? (e: BuildEvent) => out.stdout(`${JSON.stringify(e)}\n`)
      : tty
        ? (e: BuildEvent) => tty.onEvent(e)
        : (e: BuildEvent) => out.stdout(classicBuildLine(e, { explain, timings: true }));
  const options: BuildStreamOptions = {
    tags: list(p, 'tag'),
    buildArgs: buildArgs(list(p, 'build-arg')),
    target: str(p, 'target'),
    noCache: bool(p, 'no-cache'),
    noCacheFilter: list(p, 'no-cache-filter').flatMap((v) => v.split(',')),
    pull: bool(p, 'pull'),
    secrets: secrets(list(p, 'secret')),
    ssh: sshSockets(list(p, 'ssh')),
    network:
      network === 'none' || network === 'host' ? network : network === undefined ? undefined : 'bridge',
    output: quiet || progress === 'json' ? undefined : (tty?.output ?? process.stdout),
    onEvent,
  };
  const id = await (
    dockerfile === undefined
      ? engine.buildStream(process.stdin, { ...options, dockerfilePath: fileFlag })
      : engine.build({
          ...options,
          context,
          dockerfile,
          dockerfileName: dockerfilePath === '-' ? 'Dockerfile' : path.basename(dockerfilePath),
        })
  ).finally(() => tty?.close());
  if (quiet) out.stdout(`${id}\n`);
  else if (progress !== 'json') {
    out.stdout(
      `Successfully built ${id.slice(7, 19)} in ${((performance.now() - started) / 1000).toFixed(2)}s\n`,
    );
    for (const tag of list(p, 'tag')) out.stdout(`Successfully tagged ${tag}\n`);
  }
  return 0;
}

function readDockerfile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgument(
      `build: cannot read Dockerfile \`${file}\`: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

function buildArgs(values: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    // `--build-arg NAME` takes the caller's environment, as Docker does.
    if (eq < 0) {
      const value = process.env[v];
      if (value !== undefined) args[v] = value;
    } else args[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return args;
}

/**
 * `--secret id=NAME,src=FILE`, `id=NAME,env=VAR`, or `id=NAME` alone (the variable NAME, else
 * a file of that name), as `docker build` takes them.
 */
function secrets(values: string[]): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const v of values) {
    const fields = Object.fromEntries(
      v.split(',').map((f) => {
        const eq = f.indexOf('=');
        return eq < 0 ? [f, ''] : [f.slice(0, eq), f.slice(eq + 1)];
      }),
    ) as Record<string, string>;
    const id = fields['id'];
    if (!id) throw new InvalidArgument(`build: --secret \`${v}\`: needs id=NAME`);
    const src = fields['src'] ?? fields['source'];
    const env = fields['env'] ?? (src === undefined && process.env[id] !== undefined ? id : undefined);
    if (env !== undefined) {
      const value = process.env[env];
      if (value === undefined) throw new InvalidArgument(`build: --secret \`${v}\`: $${env} is not set`);
      out[id] = Buffer.from(value);
      continue;
    }
    const file = src ?? id;
    try {
      out[id] = fs.readFileSync(file);
    } catch (err) {
      throw new InvalidArgument(
        `build: --secret \`${v}\`: cannot read \`${file}\`: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
  }
  return out;
}

/** `--ssh default` (the agent at $SSH_AUTH_SOCK) or `--ssh ID=SOCKET`. */
function sshSockets(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const id = eq < 0 ? v : v.slice(0, eq);
    const socket = eq < 0 ? process.env['SSH_AUTH_SOCK'] : v.slice(eq + 1);
    if (!socket)
      throw new InvalidArgument(`build: --ssh \`${v}\`: no socket given and SSH_AUTH_SOCK is not set`);
    if (!fs.statSync(socket, { throwIfNoEntry: false })?.isSocket()) {
      throw new InvalidArgument(`build: --ssh \`${v}\`: \`${socket}\` is not a socket`);
    }
    out[id] = path.resolve(socket);
  }
  return out;
}
