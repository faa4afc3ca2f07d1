/**
 * A compose file read whole: parsed with its lines, interpolated from the environment over the
 * project's `.env`, validated against the Compose schema, checked against what skiff supports,
 * and turned into the services of one project — each key doing what Compose does, or the file
 * refused with the key, the service and the line. Loaded only by `deploy -f` and `down`.
 */
import path from 'node:path';
import { checkServiceName } from './releases.js';
import { readEnvFile } from './compose-env-file.js';
import type { Variables } from './compose-interpolate.js';
import { validateSchema } from './compose-schema.js';
import { composeService, type ComposeContext } from './compose-service.js';
import { readComposeSource, type ComposeSource } from './compose-source.js';
import { checkSupported } from './compose-support.js';
import { orderServices, type Project, type ProjectService } from './project.js';

type Raw = Record<string, unknown>;

export async function readCompose(
  file: string,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<Project> {
  const dir = path.dirname(path.resolve(file));
  // The process environment wins over `.env`, as in Compose.
  const dotenv = readEnvFile(path.join(dir, '.env'), environment) ?? new Map<string, string>();
  const vars: Variables = (name) => environment[name] ?? dotenv.get(name);
  const source = readComposeSource(file, vars);
  await validateSchema(source);
  checkSupported(source);
  const data = source.data;
  if (typeof data['services'] !== 'object' || data['services'] === null) {
    throw source.error([], 'no `services` mapping');
  }
  const project = projectName(vars('COMPOSE_PROJECT_NAME') ?? path.basename(dir), source);
  const networks = declared(source, 'networks', project, 'bridge');
  if (!networks.byKey.has('default')) {
    networks.byKey.set('default', `${project}_default`);
    networks.list.push({ name: `${project}_default`, external: false });
  }
  const volumes = declared(source, 'volumes', project, 'local');
  const ctx: ComposeContext = {
    source,
    dir,
    project,
    vars,
    environment,
    networks: networks.byKey,
    volumes: volumes.byKey,
    bindDirs: new Set(),
  };
  const services: ProjectService[] = [];
  const names = Object.keys(data['services'] as Raw);
  for (const [name, raw] of Object.entries(data['services'] as Raw)) {
    try {
      checkServiceName(name);
    } catch (err) {
      throw source.error(['services', name], (err as Error).message.replace(/^service `[^`]*`: /, ''));
    }
    const service = composeService(name, (raw ?? {}) as Raw, ctx);
    for (const dep of service.dependsOn) {
      if (!names.includes(dep)) {
        throw source.error(
          ['services', name, 'depends_on'],
          `depends on \`${dep}\`, which the file does not define`,
        );
      }
    }
    services.push(service);
  }
  const used = new Set(
    services.flatMap((s) => [s.spec.network, ...(s.spec.extraNetworks ?? []).map((n) => n.name)]),
  );
  return {
    name: project,
    services: orderServices(services, (what) => source.error(['services'], what)),
    networks: networks.list.filter((n) => used.has(n.name)),
    volumes: volumes.list,
    bindDirs: [...ctx.bindDirs],
  };
}

/** Compose 1.x's rule: lower case, and only letters, digits, `_` and `-` kept. */
function projectName(text: string, source: ComposeSource): string {
  const name = text.toLowerCase().replace(/[^a-z0-9_-]/g, '');
  if (!/^[a-z0-9]/.test(name)) {
    throw source.error(
      [],
      `project name \`${text}\` has no letter or digit to start with; set COMPOSE_PROJECT_NAME`,
    );
  }
  return name;
}

/**
 * The top-level `networks` or `volumes`: each key's name on the host (`<project>_<key>`, or
 * its `name`; an external one is used as it is and never made or removed by skiff).
 */
function declared(
  source: ComposeSource,
  section: 'networks' | 'volumes',
  project: string,
  driver: string,
): { byKey: Map<string, string>; list: { name: string; external: boolean }[] } {
  const byKey = new Map<string, string>();
  const list: { name: string; external: boolean }[] = [];
  for (const [key, raw] of Object.entries((source.data[section] ?? {}) as Raw)) {
    const settings = (raw ?? {}) as Raw;
    const given = settings['driver'];
    if (given !== undefined && given !== driver) {
      throw source.error(
        [section, key, 'driver'],
        `driver \`${String(given)}\` is not supported (${driver} only)`,
      );
    }
    const external = settings['external'];
    if (typeof external === 'object' && external !== null) {
      throw source.error(
        [section, key, 'external'],
        '`external` must be true or false (give the name with `name`)',
      );
    }
    const name = (settings['name'] as string | undefined) ?? (external === true ? key : `${project}_${key}`);
    byKey.set(key, name);
    list.push({ name, external: external === true });
  }
  return { byKey, list };
}
