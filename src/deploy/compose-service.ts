/**
 * One service of a compose file, after the schema and the support table passed it, as the
 * spec of its releases: each key converted as Compose means it, each value Compose allows but
 * skiff cannot do refused with its line. Names of networks and volumes are the project's
 * (`<project>_<name>`, as Compose names them), resolved by the caller.
 */
import path from 'node:path';
import { parsePublish } from '../runtime/network/publish.js';
import { parseVolume } from '../runtime/volumes.js';
import type { Variables } from './compose-interpolate.js';
import { readEnvFile } from './compose-env-file.js';
import { keyText, type ComposeSource, type Path } from './compose-source.js';
import { splitWords } from './compose-words.js';
import type { ProjectService } from './project.js';
import type { ServiceSpec } from './releases.js';

export interface ComposeContext {
  source: ComposeSource;
  /** the project directory: relative paths start here */
  dir: string;
  project: string;
  /** the environment and `.env`, for interpolation and for `environment: [NAME]` */
  vars: Variables;
  environment: NodeJS.ProcessEnv;
  /** network and volume keys of the file → their names on the host */
  networks: Map<string, string>;
  volumes: Map<string, string>;
  /** bind sources that do not exist yet: Compose makes them, so the deploy does */
  bindDirs: Set<string>;
}

type Raw = Record<string, unknown>;

export function composeService(name: string, raw: Raw, ctx: ComposeContext): ProjectService {
  const at = (...rest: Path): Path => ['services', name, ...rest];
  const fail = (p: Path, what: string) => ctx.source.error(p, `${keyText(p)} ${what}`);
  const deploy = (raw['deploy'] ?? {}) as Raw;
  const replicas = (deploy['replicas'] ?? raw['scale'] ?? 1) as number;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 100) {
    throw fail(deploy['replicas'] !== undefined ? at('deploy', 'replicas') : at('scale'), 'must be 1 to 100');
  }
  const build = buildOf(raw['build'], at('build'), ctx);
  if (raw['image'] === undefined && !build) throw ctx.source.error(at(), 'needs `image` or `build`');
  const image = (raw['image'] as string | undefined) ?? `${ctx.project}-${name}`;
  const networks = networksOf(raw['networks'], at('networks'), ctx);
  const publish = portsOf(raw['ports'], at('ports'), ctx, replicas);
  const { volumes, tmpfs } = volumesOf(raw['volumes'], at('volumes'), ctx);
  const spec: ServiceSpec = {
    image,
    replicas,
    healthTimeoutMs: 30_000,
    drainMs: 5_000,
    env: environmentOf(raw, at, ctx),
    network: networks[0]!.name,
    command: wordsOf(raw['command'], at('command'), ctx),
    volumes,
    entrypoint: wordsOf(raw['entrypoint'], at('entrypoint'), ctx),
    project: ctx.project,
    aliases: networks[0]!.aliases,
    extraNetworks: networks.slice(1),
    publish,
    expose: exposeOf(raw['expose'], at('expose'), ctx),
    tmpfs: [...tmpfs, ...stringList(raw['tmpfs'])],
    user: raw['user'] as string | undefined,
    workdir: raw['working_dir'] as string | undefined,
    labels: mapOf(raw['labels'], () => undefined),
    restart: restartOf(raw['restart'], at('restart'), ctx),
    stopSignal: raw['stop_signal'] as string | undefined,
    stopGraceSeconds:
      raw['stop_grace_period'] === undefined
        ? undefined
        : durationMs(raw['stop_grace_period'], at('stop_grace_period'), ctx) / 1000,
    healthcheck: healthcheckOf(raw['healthcheck'], at('healthcheck'), ctx),
  };
  const { dependsOn, healthyFirst } = dependsOnOf(raw['depends_on'], at('depends_on'), ctx);
  return { name, spec, dependsOn, healthyFirst, build };
}

function buildOf(value: unknown, p: Path, ctx: ComposeContext): ProjectService['build'] {
  if (value === undefined) return undefined;
  const b = (typeof value === 'string' ? { context: value } : value) as Raw;
  const context = path.resolve(ctx.dir, (b['context'] as string | undefined) ?? '.');
  const args: Record<string, string> = {};
  // `args: [NAME]` takes NAME from the environment, as Compose does; left out when unset.
  for (const [k, v] of Object.entries(mapOf(b['args'], (k) => ctx.vars(k)))) args[k] = v;
  return {
    context,
    dockerfile: path.resolve(context, (b['dockerfile'] as string | undefined) ?? 'Dockerfile'),
    args,
    target: b['target'] as string | undefined,
    line: ctx.source.lineOf(p),
  };
}

function wordsOf(value: unknown, p: Path, ctx: ComposeContext): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String);
  try {
    return splitWords(String(value));
  } catch (err) {
    throw ctx.source.error(p, `${keyText(p)}: ${(err as Error).message}`);
  }
}

/** `env_file` first, then `environment` over it; a bare name takes the variable from skiff's environment. */
function environmentOf(raw: Raw, at: (...rest: Path) => Path, ctx: ComposeContext): string[] {
  const env = new Map<string, string>();
  const files = raw['env_file'] === undefined ? [] : [raw['env_file']].flat().map(String);
  for (const [i, f] of files.entries()) {
    const file = path.resolve(ctx.dir, f);
    let entries: Map<string, string> | undefined;
    try {
      entries = readEnvFile(file, ctx.environment);
    } catch (err) {
      throw ctx.source.error(at('env_file', i), (err as Error).message);
    }
    if (!entries) throw ctx.source.error(at('env_file'), `env_file \`${f}\` does not exist`);
    for (const [k, v] of entries) env.set(k, v);
  }
  for (const [k, v] of Object.entries(mapOf(raw['environment'], (k) => ctx.vars(k)))) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/**
 * A list (`K=V`, or a bare `K`) or a mapping (a null value is a bare `K`) as a map; a bare
 * name gets `bare(name)` and is left out when that is undefined.
 */
function mapOf(value: unknown, bare: (name: string) => string | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  const put = (k: string, v: string | undefined) => {
    if (v !== undefined) result[k] = v;
  };
  if (Array.isArray(value)) {
    for (const item of value.map(String)) {
      const eq = item.indexOf('=');
      if (eq < 0) put(item, bare(item));
      else put(item.slice(0, eq), item.slice(eq + 1));
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) put(k, v === null ? bare(k) : String(v));
  }
  return result;
}

function stringList(value: unknown): string[] {
  return value === undefined || value === null ? [] : [value].flat().map(String);
}

function networksOf(value: unknown, p: Path, ctx: ComposeContext): { name: string; aliases: string[] }[] {
  const entries: [string, unknown, Path][] =
    value === undefined
      ? [['default', null, p]]
      : Array.isArray(value)
        ? value.map((n, i) => [String(n), null, [...p, i]])
        : Object.entries(value as Raw).map(([k, v]) => [k, v, [...p, k]]);
  if (entries.length === 0) throw ctx.source.error(p, `${keyText(p)} is empty: a service needs a network`);
  return entries.map(([key, settings, q]) => {
    const name = ctx.networks.get(key);
    if (!name)
      throw ctx.source.error(q, `network \`${key}\` is not defined under the top-level \`networks\``);
    const aliases = ((settings as Raw | null)?.['aliases'] as string[] | undefined) ?? [];
    return { name, aliases };
  });
}

/** Each entry in `-p` syntax: short `[IP:][HOST:]CONTAINER[/PROTO]` (ranges too) or long. */
function portsOf(value: unknown, p: Path, ctx: ComposeContext, replicas: number): string[] {
  const result: string[] = [];
  for (const [i, entry] of ((value ?? []) as unknown[]).entries()) {
    const q = [...p, i];
    let text: string;
    if (typeof entry === 'object' && entry !== null) {
      const e = entry as Raw;
      if (e['target'] === undefined) throw ctx.source.error(q, `${keyText(q)} needs \`target\``);
      if (e['mode'] !== undefined && e['mode'] !== 'host' && e['mode'] !== 'ingress') {
        throw ctx.source.error([...q, 'mode'], `${keyText([...q, 'mode'])} must be host or ingress`);
      }
      const proto = (e['protocol'] as string | undefined) ?? 'tcp';
      text = `${e['published'] === undefined ? '' : `${e['published']}:`}${e['target']}/${proto}`;
    } else text = String(entry);
    let mappings;
    try {
      mappings = parsePublish(text);
    } catch (err) {
      throw ctx.source.error(q, `${keyText(q)}: ${(err as Error).message}`);
    }
    const fixed = mappings.find((m) => m.hostPort !== 0);
    if (fixed && replicas > 1) {
      throw ctx.source.error(
        q,
        `${keyText(q)} publishes host port ${fixed.hostPort}, which ${replicas} replicas cannot all take (publish the container port alone, or run one replica)`,
      );
    }
    result.push(text);
  }
  return result;
}

function exposeOf(value: unknown, p: Path, ctx: ComposeContext): string[] | undefined {
  if (value === undefined) return undefined;
  return (value as unknown[]).map((entry, i) => {
    const text = String(entry);
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/.exec(text);
    if (!m || Number(m[1]) < 1 || Number(m[2] ?? m[1]) > 65535 || Number(m[2] ?? m[1]) < Number(m[1])) {
      throw ctx.source.error([...p, i], `${keyText([...p, i])} must be PORT[-PORT][/tcp|udp]`);
    }
    return text;
  });
}

/** Named volumes (declared at the top level), binds (relative to the project), read-only; tmpfs in the long form. */
function volumesOf(value: unknown, p: Path, ctx: ComposeContext): { volumes: string[]; tmpfs: string[] } {
  const volumes: string[] = [];
  const tmpfs: string[] = [];
  for (const [i, entry] of ((value ?? []) as unknown[]).entries()) {
    const q = [...p, i];
    let source: string | undefined;
    let target: string;
    let readOnly = false;
    let type: string;
    if (typeof entry === 'string') {
      const parts = entry.split(':');
      if (parts.length === 1) {
        throw ctx.source.error(
          q,
          `${keyText(q)}: anonymous volumes are not supported; name it (NAME:${entry}) and declare NAME under the top-level \`volumes\``,
        );
      }
      if (parts.length > 3) throw ctx.source.error(q, `${keyText(q)} must be SOURCE:TARGET[:MODE]`);
      [source, target] = parts as [string, string];
      const mode = parts[2] ?? 'rw';
      if (!mode.split(',').every((f) => ['ro', 'rw', 'z', 'Z'].includes(f))) {
        throw ctx.source.error(q, `${keyText(q)}: mode \`${mode}\` is not supported (ro, rw)`);
      }
      readOnly = mode.split(',').includes('ro');
      type = /^[./~]/.test(source) ? 'bind' : 'volume';
    } else {
      const e = entry as Raw;
      type = (e['type'] as string | undefined) ?? 'volume';
      source = e['source'] as string | undefined;
      target = e['target'] as string;
      readOnly = e['read_only'] === true;
      if (target === undefined) throw ctx.source.error(q, `${keyText(q)} needs \`target\``);
    }
    if (type === 'tmpfs') {
      tmpfs.push(target);
      continue;
    }
    if (type !== 'volume' && type !== 'bind') {
      throw ctx.source.error(
        q,
        `${keyText(q)}: volume type \`${type}\` is not supported (volume, bind, tmpfs)`,
      );
    }
    if (!source)
      throw ctx.source.error(q, `${keyText(q)}: anonymous volumes are not supported; give a source`);
    let host: string;
    if (type === 'bind') {
      host = path.resolve(ctx.dir, source.replace(/^~(?=$|\/)/, ctx.environment['HOME'] ?? '~'));
      // The short form makes a missing host directory, as Compose does; the long form does not.
      if (typeof entry === 'string') ctx.bindDirs.add(host);
    } else {
      const name = ctx.volumes.get(source);
      if (!name) {
        throw ctx.source.error(q, `volume \`${source}\` is not defined under the top-level \`volumes\``);
      }
      host = name;
    }
    const text = `${host}:${target}${readOnly ? ':ro' : ''}`;
    try {
      parseVolume(text);
    } catch (err) {
      throw ctx.source.error(q, `${keyText(q)}: ${(err as Error).message}`);
    }
    volumes.push(text);
  }
  return { volumes, tmpfs };
}

function restartOf(value: unknown, p: Path, ctx: ComposeContext): string {
  // Compose restarts nothing unless told to.
  if (value === undefined) return 'no';
  const text = String(value);
  if (!/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(text)) {
    throw ctx.source.error(p, `${keyText(p)} must be no, always, unless-stopped or on-failure[:N]`);
  }
  return text;
}

function healthcheckOf(value: unknown, p: Path, ctx: ComposeContext): ServiceSpec['healthcheck'] {
  if (value === undefined) return undefined;
  const h = value as Raw;
  if (h['disable'] === true) return { test: ['NONE'] };
  const raw = h['test'];
  let test: string[];
  if (raw === undefined) {
    throw ctx.source.error(
      p,
      `${keyText(p)} needs \`test\` (the image's own check is used without a healthcheck key)`,
    );
  }
  if (typeof raw === 'string') test = ['CMD-SHELL', raw];
  else {
    test = (raw as unknown[]).map(String);
    if (!['CMD', 'CMD-SHELL', 'NONE'].includes(test[0] ?? '') || (test[0] !== 'NONE' && test.length < 2)) {
      throw ctx.source.error([...p, 'test'], '`healthcheck.test` must start with CMD, CMD-SHELL or NONE');
    }
  }
  const ms = (key: string) => (h[key] === undefined ? undefined : durationMs(h[key], [...p, key], ctx));
  const retries = h['retries'] as number | undefined;
  if (retries !== undefined && retries < 1) {
    throw ctx.source.error([...p, 'retries'], '`healthcheck.retries` must be at least 1');
  }
  return {
    test,
    intervalMs: ms('interval'),
    timeoutMs: ms('timeout'),
    retries,
    startPeriodMs: ms('start_period'),
  };
}

/** Compose's durations, Go's syntax: `1m30s`, `10s`, `500ms`, `1.5h`. */
export function parseComposeDuration(text: string): number | undefined {
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g)];
  if (parts.length === 0 || parts.map((m) => m[0]).join('') !== text) return undefined;
  return parts.reduce((sum, m) => sum + Number(m[1]) * unit[m[2]!]!, 0);
}

function durationMs(value: unknown, p: Path, ctx: ComposeContext): number {
  const ms = parseComposeDuration(String(value));
  if (ms === undefined)
    throw ctx.source.error(p, `${keyText(p)} must be a duration like 10s, 1m30s or 500ms`);
  return Math.round(ms);
}

function dependsOnOf(
  value: unknown,
  p: Path,
  ctx: ComposeContext,
): { dependsOn: string[]; healthyFirst: string[] } {
  if (value === undefined) return { dependsOn: [], healthyFirst: [] };
  if (Array.isArray(value)) return { dependsOn: value.map(String), healthyFirst: [] };
  const healthyFirst: string[] = [];
  for (const [dep, settings] of Object.entries(value as Raw)) {
    const condition = ((settings as Raw | null)?.['condition'] as string | undefined) ?? 'service_started';
    if (condition === 'service_healthy') healthyFirst.push(dep);
    else if (condition !== 'service_started') {
      throw ctx.source.error(
        [...p, dep, 'condition'],
        `\`depends_on.${dep}.condition\`: \`${condition}\` is not supported (service_started, service_healthy)`,
        'COMPOSE_UNSUPPORTED',
      );
    }
  }
  return { dependsOn: Object.keys(value as Raw), healthyFirst };
}
