/** `skiff deploy|releases|diff|rollback|services|down` and `skiff service rm`. */
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine.js';
import type { ServiceSpec } from '../deploy/releases.js';
import { diffReleases } from '../deploy/release-diff.js';
import { findProjectFile, portOf, PROJECT_FILES, readProject, type Project } from '../deploy/project.js';
import { deployProject as deployAll, downProject } from '../deploy/project-deploy.js';
import { serviceStatus } from '../deploy/service-status.js';
import { InvalidArgument, NotFound } from '../util/errors.js';
import { namesRegistry } from '../oci/reference.js';
import { timeAgo } from '../util/format.js';
import { parseDuration } from '../runtime/health.js';
import { bool, envOption, list, needArgs, parseArgs, str } from './args.js';
import type { Output } from './output.js';
import { table } from './table.js';

const DEPLOY_FLAGS = [
  { name: 'replicas', kind: 'string' },
  { name: 'port', kind: 'string' },
  { name: 'health', kind: 'string' },
  { name: 'health-timeout', kind: 'string' },
  { name: 'drain', kind: 'string' },
  { name: 'env', short: 'e', kind: 'list' },
  { name: 'env-file', kind: 'list' },
  { name: 'network', kind: 'string' },
  { name: 'volume', short: 'v', kind: 'list' },
  { name: 'message', short: 'm', kind: 'string' },
  { name: 'stop-timeout', kind: 'string' },
  { name: 'file', short: 'f', kind: 'string' },
] as const;

export async function deployCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, [...DEPLOY_FLAGS], 'deploy', { stopAtPositional: false });
  if (p.positionals.length === 0) return deployProject(engine, str(p, 'file'), str(p, 'message'), out);
  needArgs(
    p,
    'deploy',
    2,
    Infinity,
    'SERVICE IMAGE [COMMAND...] [--replicas N] [--port [IP:]PORT[:CONTAINER_PORT]] [--health PATH]',
  );
  const [service, image, ...command] = p.positionals as [string, string, ...string[]];
  const spec: ServiceSpec = {
    image,
    replicas: replicas(str(p, 'replicas') ?? '1'),
    port: parsePort(str(p, 'port')),
    health: healthPath(str(p, 'health')),
    healthTimeoutMs: parseDuration(str(p, 'health-timeout') ?? '30s', 'health-timeout'),
    drainMs: parseDuration(str(p, 'drain') ?? '5s', 'drain'),
    env: envOption(p),
    network: str(p, 'network') ?? 'services',
    command: command.length > 0 ? command : undefined,
    volumes: list(p, 'volume'),
  };
  const started = Date.now();
  const deployer = engine.deployer({
    progress: (line) => out.stdout(`${seconds(started)} ${line}\n`),
    stopTimeout: stopTimeout(str(p, 'stop-timeout')),
  });
  await ensureImage(engine, spec.image, out);
  const release = await deployer.deploy(service, spec, { message: str(p, 'message') });
  out.stdout(
    `${service}: release ${release.number} live (${spec.image}, ${spec.replicas} replica${spec.replicas === 1 ? '' : 's'})\n`,
  );
  return 0;
}

/** `skiff deploy [-f FILE]`: every service of the project file, dependencies first. */
async function deployProject(
  engine: Engine,
  file: string | undefined,
  message: string | undefined,
  out: Output,
): Promise<number> {
  const project = await projectOf(file, 'deploy');
  const started = Date.now();
  const say = (line: string) => out.stdout(`${line}\n`);
  const deployer = engine.deployer({ progress: (line) => out.stdout(`${seconds(started)} ${line}\n`) });
  await deployAll(
    project,
    {
      deployer,
      runtime: engine.runtime,
      say,
      ensureImage: (image) => ensureImage(engine, image, out),
      build: async (b, image, service) => {
        say(`${service}: building ${image} from ${b.context}`);
        const id = await engine.build({
          context: b.context,
          dockerfile: readDockerfile(b.dockerfile, service),
          dockerfileName: path.basename(b.dockerfile),
          tags: [image],
          buildArgs: b.args,
          target: b.target,
        });
        say(`${service}: built ${image} (${id.slice(7, 19)})`);
      },
    },
    { message },
  );
  return 0;
}

/** `skiff down [-f FILE] [--volumes]`: the project's services, its networks, and with --volumes its volumes. */
export async function downCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(
    argv,
    [
      { name: 'file', short: 'f', kind: 'string' },
      { name: 'volumes', short: 'v', kind: 'boolean' },
    ],
    'down',
  );
  needArgs(p, 'down', 0, 0, '[-f FILE] [--volumes]');
  const project = await projectOf(str(p, 'file'), 'down');
  await downProject(
    project,
    { deployer: engine.deployer(), runtime: engine.runtime, say: (line) => out.stdout(`${line}\n`) },
    { volumes: bool(p, 'volumes') },
  );
  return 0;
}

async function projectOf(file: string | undefined, verb: string): Promise<Project> {
  const chosen = file ?? findProjectFile(process.cwd());
  if (!chosen) {
    throw new InvalidArgument(
      `${verb}: no ${verb === 'deploy' ? 'SERVICE IMAGE given and no ' : ''}project file here (${PROJECT_FILES.join(', ')})`,
      { code: 'USAGE' },
    );
  }
  if (!fs.existsSync(chosen)) throw new InvalidArgument(`${verb}: project file \`${chosen}\` does not exist`);
  return readProject(chosen);
}

function readDockerfile(file: string, service: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgument(
      `build \`${service}\`: cannot read Dockerfile \`${file}\`: ${(err as NodeJS.ErrnoException).code ?? err}`,
      { cause: err },
    );
  }
}

export async function rollbackCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(
    argv,
    [
      { name: 'to', kind: 'string' },
      { name: 'stop-timeout', kind: 'string' },
    ],
    'rollback',
  );
  needArgs(p, 'rollback', 1, 1, 'SERVICE [--to RELEASE]');
  const to = str(p, 'to');
  const started = Date.now();
  const deployer = engine.deployer({
    progress: (line) => out.stdout(`${seconds(started)} ${line}\n`),
    stopTimeout: stopTimeout(str(p, 'stop-timeout')),
  });
  const release = await deployer.rollback(p.positionals[0]!, {
    to: to === undefined ? undefined : releaseNumber(to),
  });
  out.stdout(`${release.service}: release ${release.number} live again (${release.imageName})\n`);
  return 0;
}

export function releasesCommand(engine: Engine, argv: string[], out: Output): number {
  const p = parseArgs(argv, [{ name: 'format', kind: 'string' }], 'releases');
  needArgs(p, 'releases', 1, 1, 'SERVICE [--format json]');
  const history = engine.deployer().releases.history(p.positionals[0]!);
  if (str(p, 'format') === 'json') {
    out.stdout(`${JSON.stringify(history, null, 2)}\n`);
    return 0;
  }
  // Like `git log`: newest first, one paragraph per release.
  for (const r of history) {
    out.stdout(`release ${r.number}${r.status === 'live' ? ' (live)' : ` (${r.status})`}\n`);
    out.stdout(`Image:  ${r.imageName} ${r.imageId}\n`);
    out.stdout(`Author: ${r.author}\n`);
    out.stdout(`Date:   ${new Date(r.created).toUTCString()} (${timeAgo(r.created)})\n\n`);
    out.stdout(`    ${r.message}\n\n`);
  }
  return 0;
}

export function diffCommand(engine: Engine, argv: string[], out: Output): number {
  const p = parseArgs(argv, [{ name: 'format', kind: 'string' }], 'diff');
  needArgs(p, 'diff', 3, 3, 'SERVICE RELEASE RELEASE');
  const [service, a, b] = p.positionals as [string, string, string];
  const deployer = engine.deployer();
  const d = diffReleases(
    engine.store,
    deployer.releases.find(service, releaseNumber(a)),
    deployer.releases.find(service, releaseNumber(b)),
  );
  if (str(p, 'format') === 'json') {
    out.stdout(`${JSON.stringify(d, null, 2)}\n`);
    return 0;
  }
  out.stdout(`diff ${service} release ${d.from} → ${d.to}\n`);
  if (d.image.same) out.stdout(`image: same (${d.image.to})\n`);
  else {
    out.stdout(`image: ${d.image.from} → ${d.image.to}\n`);
    if (d.image.missing) out.stdout(`  (layers not listed: ${d.image.missing})\n`);
    out.stdout(`layers: ${d.image.removed.length} removed, ${d.image.added.length} added\n`);
    for (const f of d.image.files) out.stdout(`${f.change} ${f.path}\n`);
  }
  for (const e of d.env.removed) out.stdout(`- env ${e}\n`);
  for (const e of d.env.added) out.stdout(`+ env ${e}\n`);
  for (const c of d.env.changed) out.stdout(`~ env ${c.name}: ${c.from} → ${c.to}\n`);
  for (const f of d.fields) out.stdout(`~ ${f.field}: ${f.from} → ${f.to}\n`);
  return 0;
}

export async function servicesCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, [{ name: 'format', kind: 'string' }], 'services');
  needArgs(p, 'services', 0, 0, '[--format json]');
  const deployer = engine.deployer();
  const status = await serviceStatus(deployer.releases, engine.runtime, deployer.proxy);
  if (str(p, 'format') === 'json') {
    out.stdout(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  out.stdout(
    table(
      ['NAME', 'RELEASE', 'IMAGE', 'REPLICAS', 'PORT', 'UPDATED'],
      status.map((s) => [
        s.name,
        s.release === null ? '-' : String(s.release),
        s.image,
        s.proxyError ? `?/${s.replicas} (${s.proxyError})` : `${s.ready}/${s.replicas}`,
        s.port ?? '-',
        s.updated ? timeAgo(s.updated) : '-',
      ]),
    ),
  );
  return 0;
}

export async function serviceCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'rm') {
    throw new InvalidArgument(`service: unknown command \`${verb ?? ''}\` (rm)`, { code: 'USAGE' });
  }
  const p = parseArgs(rest, [{ name: 'force', short: 'f', kind: 'boolean' }], 'service rm');
  needArgs(p, 'service rm', 1, Infinity, 'SERVICE...');
  void bool(p, 'force');
  for (const name of p.positionals) {
    await engine.deployer().remove(name);
    out.stdout(`${name}\n`);
  }
  return 0;
}

function replicas(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw new InvalidArgument(`invalid --replicas \`${text}\`: a whole number from 1 to 100`);
  }
  return n;
}

/**
 * An image the store lacks is pulled first when its name says from where
 * (`registry.example.com/app:v2`, `127.0.0.1:5000/app:v2`); a bare `app:v2` is never looked
 * for on Docker Hub behind the user's back.
 */
async function ensureImage(engine: Engine, image: string, out: Output): Promise<void> {
  try {
    engine.imageId(image);
    return;
  } catch (err) {
    if (!(err instanceof NotFound)) throw err;
    if (!namesRegistry(image)) throw err;
  }
  out.stdout(`${image}: not in the store, pulling\n`);
  await engine.pull(image, {});
}

function stopTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgument(`invalid --stop-timeout \`${text}\`: whole seconds`);
  return n;
}

function releaseNumber(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgument(`invalid release \`${text}\`: a release number`);
  return n;
}

/** `--port [IP:]PUBLIC[:CONTAINER]`: HAProxy listens on IP:PUBLIC, the replicas on CONTAINER. */
export function parsePort(text: string | undefined): ServiceSpec['port'] {
  if (text === undefined) return undefined;
  return portOf(
    text,
    () =>
      new InvalidArgument(
        `invalid --port \`${text}\`: expected [IP:]PORT[:CONTAINER_PORT] with ports 1-65535`,
      ),
  );
}

function healthPath(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!/^\/[\x21-\x7e]*$/.test(text)) {
    throw new InvalidArgument(`invalid --health \`${text}\`: an HTTP path starting with /`);
  }
  return text;
}

function seconds(since: number): string {
  return `[${((Date.now() - since) / 1000).toFixed(2)}s]`;
}
