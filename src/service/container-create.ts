/**
 * `POST /containers/create`'s body (Config + HostConfig + NetworkingConfig, as the CLI and
 * SDKs send it) as skiff's CreateOptions. Zero values are "not given": the CLI sends about 80
 * keys, most of them empty. What skiff cannot do is refused, not dropped silently.
 */
import { InvalidArgument, type CreateOptions } from '../engine.js';

type Json = Record<string, unknown>;

function obj(v: unknown, what: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new InvalidArgument(`create container: ${what} must be an object`);
  return v as Json;
}

function strings(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
    throw new InvalidArgument(`create container: ${what} must be a list of strings`);
  return v as string[];
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function positive(v: unknown): number | undefined {
  return typeof v === 'number' && v > 0 ? v : undefined;
}

/** `{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}` → `127.0.0.1:8080:80/tcp`. */
function publish(bindings: Json): string[] | undefined {
  const out: string[] = [];
  for (const [port, list] of Object.entries(bindings)) {
    const [number, proto = 'tcp'] = port.split('/');
    for (const b of (Array.isArray(list) ? list : []) as Json[]) {
      const ip = text(b['HostIp']);
      const host = text(b['HostPort']) ?? '0';
      out.push(`${ip ? `${ip}:` : ''}${host}:${number}/${proto}`);
    }
  }
  return out.length ? out : undefined;
}

export function createOptions(name: string | undefined, body: unknown): CreateOptions {
  const config = obj(body, 'the body');
  const host = obj(config['HostConfig'], 'HostConfig');
  const image = text(config['Image']);
  if (!image) throw new InvalidArgument('create container: Image is required');
  const cmd = strings(config['Cmd'], 'Cmd');
  const mode = text(host['NetworkMode']);
  const restart = obj(host['RestartPolicy'], 'RestartPolicy');
  const restartName = text(restart['Name']);
  const retries = positive(restart['MaximumRetryCount']);
  const labels = obj(config['Labels'], 'Labels') as Record<string, string>;
  const tmpfs = Object.entries(obj(host['Tmpfs'], 'Tmpfs')).map(([p, o]) => (o ? `${p}:${String(o)}` : p));
  const aliases = Object.values(
    obj(obj(config['NetworkingConfig'], 'NetworkingConfig')['EndpointsConfig'], 'EndpointsConfig'),
  ).flatMap((e) => strings(obj(e, 'an endpoint')['Aliases'], 'Aliases') ?? []);
  const memory = positive(host['Memory']);
  const nanoCpus = positive(host['NanoCpus']);
  const options: CreateOptions = {
    image,
    name: name || undefined,
    command: cmd?.length ? cmd : undefined,
    entrypoint: strings(config['Entrypoint'], 'Entrypoint'),
    env: strings(config['Env'], 'Env'),
    workdir: text(config['WorkingDir']),
    user: text(config['User']),
    hostname: text(config['Hostname']),
    tty: config['Tty'] === true,
    interactive: config['OpenStdin'] === true,
    labels: Object.keys(labels).length ? labels : undefined,
    stopSignal: text(config['StopSignal']),
    stopTimeout: typeof config['StopTimeout'] === 'number' ? config['StopTimeout'] : undefined,
    rm: host['AutoRemove'] === true,
    network: mode && mode !== 'default' ? mode : undefined,
    networkAliases: aliases.length ? aliases : undefined,
    publish: publish(obj(host['PortBindings'], 'PortBindings')),
    volumes: strings(host['Binds'], 'Binds'),
    tmpfs: tmpfs.length ? tmpfs : undefined,
    privileged: host['Privileged'] === true,
    readOnly: host['ReadonlyRootfs'] === true,
    capAdd: strings(host['CapAdd'], 'CapAdd'),
    capDrop: strings(host['CapDrop'], 'CapDrop'),
    memory: memory === undefined ? undefined : `${memory}b`,
    cpus: nanoCpus === undefined ? undefined : String(nanoCpus / 1e9),
    pidsLimit: positive(host['PidsLimit']),
    restart:
      restartName && restartName !== 'no' ? `${restartName}${retries ? `:${retries}` : ''}` : undefined,
  };
  if (strings(host['VolumesFrom'], 'VolumesFrom')?.length)
    throw new InvalidArgument('create container: VolumesFrom is not supported');
  // Drop the keys left undefined, so the stored options read as `skiff run` would write them.
  return Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined && v !== false),
  ) as unknown as CreateOptions;
}
