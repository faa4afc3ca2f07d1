/**
 * A project file describes several services at once, so one `skiff deploy` brings up the app,
 * its database and its cache, in `depends_on` order, each as its own release. Services whose
 * image and settings did not change keep their live release. Two kinds: skiff's own
 * `skiff.yaml` (read here: a service's `port` goes through HAProxy), and any other file, which
 * is a compose file read whole by compose.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgument } from '../util/errors.js';
import { parsePortMapping } from '../util/port-mapping.js';
import { checkServiceName, type ServiceSpec } from './releases.js';

export const PROJECT_FILES = [
  'skiff.yaml',
  'skiff.yml',
  'compose.yaml',
  'compose.yml',
  'docker-compose.yaml',
  'docker-compose.yml',
];

export interface ProjectService {
  name: string;
  spec: ServiceSpec;
  dependsOn: string[];
  /** dependencies that must pass their health check before this service starts */
  healthyFirst?: string[];
  /** built with skiff's builder and tagged `spec.image` before the deploy */
  build?: {
    context: string;
    dockerfile: string;
    args: Record<string, string>;
    target?: string;
    line: number;
  };
}

export interface Project {
  /** the compose project's name; none for a skiff.yaml */
  name?: string;
  /** dependencies first */
  services: ProjectService[];
  /** networks the services join; external ones skiff neither makes nor removes */
  networks: { name: string; external: boolean }[];
  volumes: { name: string; external: boolean }[];
  /** host directories that binds need, made before the deploy as Compose makes them */
  bindDirs: string[];
}

/** skiff.yaml and skiff.yml are skiff's own format; every other file name is a compose file. */
export function isComposeFile(file: string): boolean {
  return !/^skiff\.ya?ml$/.test(path.basename(file));
}

export function findProjectFile(dir: string): string | undefined {
  return PROJECT_FILES.map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
}

/** The services of a project file, dependencies first. */
export async function readProject(file: string): Promise<Project> {
  if (isComposeFile(file)) return (await import('./compose.js')).readCompose(file);
  const services = await readSkiffFile(file);
  return {
    services,
    networks: [...new Set(services.map((s) => s.spec.network))].map((name) => ({ name, external: false })),
    volumes: [],
    bindDirs: [],
  };
}

async function readSkiffFile(file: string): Promise<ProjectService[]> {
  // Loaded here, not at start-up: only this command reads YAML.
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidArgument(`read project \`${file}\`: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
  const bad = (what: string) => new InvalidArgument(`read project \`${file}\`: ${what}`);
  if (!isObject(doc) || !isObject(doc['services'])) throw bad('no `services` mapping');
  const network = doc['network'] ?? `${path.basename(path.dirname(path.resolve(file)))}`.toLowerCase();
  if (typeof network !== 'string') throw bad('`network` must be a name');
  const services: ProjectService[] = [];
  for (const [name, raw] of Object.entries(doc['services'])) {
    checkServiceName(name);
    if (!isObject(raw)) throw bad(`service \`${name}\` must be a mapping`);
    services.push({ name, spec: toSpec(name, raw, network, bad), dependsOn: dependsOn(raw['depends_on']) });
  }
  return orderServices(services, bad);
}

function toSpec(
  name: string,
  raw: Record<string, unknown>,
  network: string,
  bad: (what: string) => InvalidArgument,
): ServiceSpec {
  const where = (key: string) => `service \`${name}\`: \`${key}\``;
  const image = raw['image'];
  if (typeof image !== 'string' || image === '') throw bad(`${where('image')} is missing`);
  const deploy = isObject(raw['deploy']) ? raw['deploy'] : {};
  const replicas = raw['replicas'] ?? deploy['replicas'] ?? 1;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1 || replicas > 100) {
    throw bad(`${where('replicas')} must be a whole number from 1 to 100`);
  }
  const ports = raw['port'] ?? (Array.isArray(raw['ports']) ? raw['ports'][0] : undefined);
  const health = raw['health'] ?? raw['x-skiff-health'];
  if (health !== undefined && (typeof health !== 'string' || !health.startsWith('/'))) {
    throw bad(`${where('health')} must be an HTTP path starting with /`);
  }
  return {
    image,
    replicas,
    port:
      ports === undefined
        ? undefined
        : parsePortMapping(String(ports), () => bad(`${where('port')} must be [IP:]PORT[:CONTAINER_PORT]`)),
    health: health as string | undefined,
    healthTimeoutMs: seconds(raw['health_timeout'], 30) * 1000,
    drainMs: seconds(raw['drain'], 5) * 1000,
    env: envOf(raw['environment'] ?? raw['env'], () =>
      bad(`${where('environment')} must be a list or mapping`),
    ),
    network: typeof raw['network'] === 'string' ? raw['network'] : network,
    command: commandOf(raw['command'], () => bad(`${where('command')} must be a string or list`)),
    volumes: stringList(raw['volumes'], () => bad(`${where('volumes')} must be a list of NAME:/path`)),
  };
}

function envOf(value: unknown, bad: () => Error): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map(String);
  if (isObject(value)) return Object.entries(value).map(([k, v]) => `${k}=${v ?? ''}`);
  throw bad();
}

function commandOf(value: unknown, bad: () => Error): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return ['sh', '-c', value];
  if (Array.isArray(value)) return value.map(String);
  throw bad();
}

function stringList(value: unknown, bad: () => Error): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw bad();
}

function dependsOn(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (isObject(value)) return Object.keys(value);
  return [];
}

function seconds(value: unknown, fallback: number): number {
  return typeof value === 'number' && value >= 0 ? value : fallback;
}

/** Dependencies first; a cycle or an unknown dependency is an error. */
export function orderServices(
  services: ProjectService[],
  bad: (what: string) => InvalidArgument,
): ProjectService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const done = new Set<string>();
  const result: ProjectService[] = [];
  const visit = (s: ProjectService, path: string[]) => {
    if (done.has(s.name)) return;
    if (path.includes(s.name)) throw bad(`depends_on makes a cycle: ${[...path, s.name].join(' → ')}`);
    for (const d of s.dependsOn) {
      const dep = byName.get(d);
      if (!dep) throw bad(`service \`${s.name}\` depends on \`${d}\`, which the file does not define`);
      visit(dep, [...path, s.name]);
    }
    done.add(s.name);
    result.push(s);
  };
  for (const s of services) visit(s, []);
  return result;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
