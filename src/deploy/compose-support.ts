/**
 * What of the Compose specification a single-host skiff deploy does. The schema says what is
 * Compose; this table says which of it skiff carries out. Anything else the file says is
 * refused with its key, service and line — never silently ignored, since a setting that is
 * dropped (a memory limit, a secret) changes what runs. `x-` keys are ignored everywhere, as
 * Compose ignores them. Values (a restart policy, a volume type) are checked where they are
 * converted (compose-service.ts).
 */
import { keyText, type ComposeSource, type Path } from './compose-source.js';

/** true: this key and all below it; a table: only these keys; `*`: any name (a network, a dependency). */
type Allow = true | { [key: string]: Allow };

const SERVICE: Allow = {
  image: true,
  build: { context: true, dockerfile: true, args: true, target: true },
  command: true,
  entrypoint: true,
  environment: true,
  env_file: true,
  ports: { target: true, published: true, protocol: true, mode: true },
  expose: true,
  volumes: { type: true, source: true, target: true, read_only: true },
  tmpfs: true,
  networks: { '*': { aliases: true } },
  depends_on: { '*': { condition: true } },
  healthcheck: {
    test: true,
    interval: true,
    timeout: true,
    retries: true,
    start_period: true,
    disable: true,
  },
  restart: true,
  user: true,
  working_dir: true,
  labels: true,
  stop_signal: true,
  stop_grace_period: true,
  deploy: { replicas: true },
  scale: true,
};

const TOP: Allow = {
  version: true,
  services: { '*': SERVICE },
  networks: { '*': { name: true, external: true, driver: true } },
  volumes: { '*': { name: true, external: true, driver: true } },
};

/** Throws for the first key the file uses that skiff does not carry out. */
export function checkSupported(source: ComposeSource): void {
  walk(source, source.data, TOP, []);
}

function walk(source: ComposeSource, value: unknown, allow: Allow, path: Path): void {
  if (allow === true) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(source, item, allow, [...path, i]));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith('x-')) continue;
    const next = allow[key] ?? allow['*'];
    const p = [...path, key];
    if (next === undefined) {
      throw source.error(p, `${keyText(p)} is not supported`, 'COMPOSE_UNSUPPORTED');
    }
    walk(source, child, next, p);
  }
}
