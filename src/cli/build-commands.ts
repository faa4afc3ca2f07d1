/** `skiff build`: a Dockerfile and its context become an image; output like `docker build`'s. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tarArchive } from '../build/add-source.js';
import type { Engine } from '../engine.js';
import type { BuildEvent } from '../build/execute.js';
import { InvalidArgument } from '../util/errors.js';
import { programPath } from '../util/programs.js';
import { bool, list, needArgs, parseArgs, str } from './args.js';
import { TtyProgress } from './build-progress.js';
import type { Output } from './output.js';

export async function buildCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(
    argv,
    [
      { name: 'tag', short: 't', kind: 'list' },
      { name: 'file', short: 'f', kind: 'string' },
      { name: 'build-arg', kind: 'list' },
      { name: 'target', kind: 'string' },
      { name: 'no-cache', kind: 'boolean' },
      { name: 'no-cache-filter', kind: 'list' },
      { name: 'pull', kind: 'boolean' },
      { name: 'secret', kind: 'list' },
      { name: 'ssh', kind: 'list' },
      { name: 'network', kind: 'string' },
      { name: 'progress', kind: 'string' },
      { name: 'explain-cache', kind: 'boolean' },
      { name: 'quiet', short: 'q', kind: 'boolean' },
    ],
    'build',
  );
  needArgs(
    p,
    'build',
    1,
    1,
    '[-t NAME[:TAG]] [-f Dockerfile|-] [--build-arg K=V] [--target STAGE] [--no-cache] [--no-cache-filter STAGE] [--pull] CONTEXT',
  );
  if (p.positionals[0] === '-' && str(p, 'file') === '-') {
    throw new InvalidArgument('build: stdin cannot be both the context and the Dockerfile (-f -)');
  }
  const stdin = p.positionals[0] === '-' ? await contextFromStdin() : undefined;
  try {
    return await build(engine, p, out, stdin);
  } finally {
    if (stdin) fs.rmSync(stdin.dir, { recursive: true, force: true });
  }
}

/**
 * `skiff build - < x`, as `docker build -` reads it: a tar archive (plain or compressed) is
 * the context, anything else is the Dockerfile, with an empty context.
 */
async function contextFromStdin(): Promise<{ dir: string; context: string; dockerfile?: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-context-'));
  try {
    const input = path.join(dir, 'stdin');
    fs.writeFileSync(input, fs.readFileSync(0));
    const context = path.join(dir, 'context');
    fs.mkdirSync(context);
    if ((await tarArchive(input)) === undefined) {
      return { dir, context, dockerfile: fs.readFileSync(input, 'utf8') };
    }
    // GNU tar skips members whose names climb out with `..` and strips leading slashes.
    const r = spawnSync(programPath('tar'), ['-x', '-f', input, '-C', context, '--no-same-owner'], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      throw new InvalidArgument(
        `build: the context on stdin: ${r.stderr.trim().split('\n').pop() ?? `tar exited ${r.status}`}`,
      );
    }
    return { dir, context };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function build(
  engine: Engine,
  p: ReturnType<typeof parseArgs>,
  out: Output,
  stdin: { context: string; dockerfile?: string } | undefined,
): Promise<number> {
  const context = stdin?.context ?? p.positionals[0]!;
  const fileFlag = str(p, 'file');
  // The Dockerfile: what stdin gave, or -f (`-`: stdin; inside a context from stdin, a path
  // in it), or the context's own.
  const dockerfilePath =
    stdin?.dockerfile !== undefined
      ? undefined
      : stdin !== undefined
        ? path.join(context, fileFlag ?? 'Dockerfile')
        : (fileFlag ?? path.join(context, 'Dockerfile'));
  if (
    stdin !== undefined &&
    dockerfilePath !== undefined &&
    fs.lstatSync(dockerfilePath, { throwIfNoEntry: false })?.isSymbolicLink()
  ) {
    throw new InvalidArgument(
      `build: the context on stdin: its Dockerfile \`${fileFlag ?? 'Dockerfile'}\` is a symlink`,
    );
  }
  const dockerfile =
    stdin?.dockerfile ??
    (dockerfilePath === '-' ? fs.readFileSync(0, 'utf8') : readDockerfile(dockerfilePath!));
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
        : (e: BuildEvent) => out.stdout(classicLine(e, explain));
  const id = await engine
    .build({
      context,
      dockerfile,
      dockerfileName:
        dockerfilePath === undefined || dockerfilePath === '-' ? 'Dockerfile' : path.basename(dockerfilePath),
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
    })
    .finally(() => tty?.close());
  if (quiet) out.stdout(`${id}\n`);
  else if (progress !== 'json') {
    out.stdout(
      `Successfully built ${id.slice(7, 19)} in ${((performance.now() - started) / 1000).toFixed(2)}s\n`,
    );
    for (const tag of list(p, 'tag')) out.stdout(`Successfully tagged ${tag}\n`);
  }
  return 0;
}

function classicLine(e: BuildEvent, explain: boolean): string {
  switch (e.type) {
    case 'step':
      return `Step ${e.index}/${e.total} : ${e.text.split('\n')[0]}\n`;
    case 'cached':
      return ` ---> Using cache\n ---> ${e.imageId.slice(7, 19)}\n`;
    case 'miss':
      return explain ? ` ---> Cache miss: ${e.why}\n` : '';
    case 'done':
      return ` ---> ${e.imageId.slice(7, 19)}${e.ms > 0 ? ` (${(e.ms / 1000).toFixed(2)}s)` : ''}\n`;
  }
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
