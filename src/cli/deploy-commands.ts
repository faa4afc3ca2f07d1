/** `skiff deploy|releases|diff|rollback|services|down` and `skiff service rm`. */
import { findProjectFile, PROJECT_FILES, type Engine, type ServiceSpec } from '../engine.js';
import { parseDuration } from '../util/duration.js';
import { InvalidArgument } from '../util/errors.js';
import { timeAgo } from '../util/format.js';
import { parsePortMapping } from '../util/port-mapping.js';
import { bool, envOption, formatFlag, list, needArgs, parseArgs, str } from './args.js';
import { subcommandNames } from './commands.js';
import { DEPLOY, DIFF, DOWN, RELEASES, ROLLBACK, SERVICE_RM, SERVICES } from './deploy-flags.js';
import type { Output } from './output.js';
import { table } from './table.js';

export async function deployCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, DEPLOY);
  if (p.positionals.length === 0) {
    const started = Date.now();
    await engine.deployProject(projectFile(str(p, 'file'), 'deploy'), {
      message: str(p, 'message'),
      progress: (line) => out.stdout(`${seconds(started)} ${line}\n`),
      say: (line) => out.stdout(`${line}\n`),
      stopTimeout: stopTimeout(str(p, 'stop-timeout')),
      keepWarmMs: keepWarm(str(p, 'keep-warm')),
    });
    return 0;
  }
  needArgs(p, DEPLOY, 2, Infinity);
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
  const release = await engine.deployService(service, spec, {
    message: str(p, 'message'),
    progress: (line) => out.stdout(`${seconds(started)} ${line}\n`),
    say: (line) => out.stdout(`${line}\n`),
    stopTimeout: stopTimeout(str(p, 'stop-timeout')),
    keepWarmMs: keepWarm(str(p, 'keep-warm')),
  });
  out.stdout(
    `${service}: release ${release.number} live (${spec.image}, ${spec.replicas} replica${spec.replicas === 1 ? '' : 's'})\n`,
  );
  return 0;
}

/** `skiff down [-f FILE] [--volumes]`: the project's services, its networks, and with --volumes its volumes. */
export async function downCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, DOWN);
  needArgs(p, DOWN, 0, 0);
  await engine.downProject(projectFile(str(p, 'file'), 'down'), {
    volumes: bool(p, 'volumes'),
    say: (line) => out.stdout(`${line}\n`),
  });
  return 0;
}

/** The project file given with -f, or the one in this directory. */
function projectFile(file: string | undefined, verb: string): string {
  const chosen = file ?? findProjectFile(process.cwd());
  if (!chosen) {
    throw new InvalidArgument(
      `${verb}: no ${verb === 'deploy' ? 'SERVICE IMAGE given and no ' : ''}project file here (${PROJECT_FILES.join(', ')})`,
      { code: 'USAGE' },
    );
  }
  return chosen;
}

export async function rollbackCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, ROLLBACK);
  needArgs(p, ROLLBACK, 1, 1);
  const to = str(p, 'to');
  const started = Date.now();
  const deployer = engine.deployer({
    progress: (line) => out.stdout(`${seconds(started)} ${line}\n`),
    stopTimeout: stopTimeout(str(p, 'stop-timeout')),
    keepWarmMs: keepWarm(str(p, 'keep-warm')),
  });
  const release = await deployer.rollback(p.positionals[0]!, {
    to: to === undefined ? undefined : releaseNumber(to),
  });
  out.stdout(`${release.service}: release ${release.number} live again (${release.imageName})\n`);
  return 0;
}

export function releasesCommand(engine: Engine, argv: string[], out: Output): number {
  const p = parseArgs(argv, RELEASES);
  needArgs(p, RELEASES, 1, 1);
  const format = formatFlag(p, 'releases', ['text', 'json']);
  const history = engine.deployer().releases.history(p.positionals[0]!);
  if (format === 'json') {
    out.stdout(`${JSON.stringify(history, null, 2)}\n`);
    return 0;
  }
  // Like `git log`: newest first, one paragraph per release.
  for (const r of history) {
    out.stdout(`release ${r.number} (${releaseState(r)})\n`);
    out.stdout(`Image:  ${r.imageName} ${r.imageId}\n`);
    out.stdout(`Author: ${r.author}\n`);
    out.stdout(`Date:   ${new Date(r.created).toUTCString()} (${timeAgo(r.created)})\n\n`);
    out.stdout(`    ${r.message}\n\n`);
  }
  return 0;
}

/** `live`, `stopped`, …; a warm release says until when, in UTC as the Date line. */
function releaseState(r: { status: string; warmUntil: string | null }): string {
  if (r.status !== 'warm' || !r.warmUntil) return r.status;
  const left = Math.max(0, Math.round((Date.parse(r.warmUntil) - Date.now()) / 1000));
  const inText = left >= 120 ? `${Math.round(left / 60)} min` : `${left} s`;
  return `warm: running, drained, until ${new Date(r.warmUntil).toUTCString()}, in ${inText}`;
}

export async function diffCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, DIFF);
  needArgs(p, DIFF, 3, 3);
  const format = formatFlag(p, 'diff', ['text', 'json']);
  const [service, a, b] = p.positionals as [string, string, string];
  const d = await engine.releaseDiff(service, releaseNumber(a), releaseNumber(b));
  if (format === 'json') {
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
  const p = parseArgs(argv, SERVICES);
  needArgs(p, SERVICES, 0, 0);
  const format = formatFlag(p, 'services', ['table', 'json']);
  const status = await engine.services();
  if (format === 'json') {
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
    throw new InvalidArgument(`service: unknown command \`${verb ?? ''}\` (${subcommandNames('service')})`, {
      code: 'USAGE',
    });
  }
  const p = parseArgs(rest, SERVICE_RM);
  needArgs(p, SERVICE_RM, 1, Infinity);
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

function stopTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgument(`invalid --stop-timeout \`${text}\`: whole seconds`);
  return n;
}

/** `--keep-warm DURATION`: `0` (no unit) or a duration; undefined leaves the default (10 min). */
function keepWarm(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  return text === '0' ? 0 : parseDuration(text, 'keep-warm');
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
  return parsePortMapping(
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
