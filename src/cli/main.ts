/**
 * The `skiff` command: picks the verb, runs it over the Engine, and turns errors into one
 * line on stderr and an exit status. The only place that prints.
 */
import type { Engine } from '../engine.js';
import { SkiffError, describeError } from '../util/errors.js';
import { processOutput, type Output } from './output.js';

type Command = (engine: Engine, argv: string[], out: Output) => Promise<number> | number;

/**
 * Each verb's module is loaded when the verb runs, not at start: every `skiff` command is a
 * new process, and parsing code it does not use (the builder for `ps`, the deployer for
 * `run`) was most of what `skiff version` cost.
 */
const commands: Record<string, () => Promise<Command>> = {
  import: async () => (await import('./image-commands.js')).importCommand,
  images: async () => (await import('./image-commands.js')).imagesCommand,
  tag: async () => (await import('./image-commands.js')).tagCommand,
  inspect: async () => (await import('./image-commands.js')).inspectCommand,
  history: async () => (await import('./image-commands.js')).historyCommand,
  save: async () => (await import('./image-commands.js')).saveCommand,
  load: async () => (await import('./image-commands.js')).loadCommand,
  rmi: async () => (await import('./image-commands.js')).rmiCommand,
  system: async () => (await import('./system-commands.js')).systemCommand,
  run: async () => (await import('./container-commands.js')).runCommand,
  create: async () => (await import('./container-commands.js')).createCommand,
  start: async () => (await import('./container-commands.js')).startCommand,
  ps: async () => (await import('./container-commands.js')).psCommand,
  logs: async () => (await import('./container-commands.js')).logsCommand,
  exec: async () => (await import('./container-commands.js')).execCommand,
  stop: async () => (await import('./container-commands.js')).stopCommand,
  restart: async () => {
    const { stopCommand } = await import('./container-commands.js');
    return (engine, argv, out) => stopCommand(engine, argv, out, 'restart');
  },
  kill: async () => (await import('./container-commands.js')).killCommand,
  rm: async () => (await import('./container-commands.js')).rmCommand,
  wait: async () => (await import('./container-commands.js')).waitCommand,
  container: async () => (await import('./container-commands.js')).containerCommand,
  network: async () => (await import('./network-commands.js')).networkCommand,
  volume: async () => (await import('./network-commands.js')).volumeCommand,
  pull: async () => (await import('./registry-client-commands.js')).pullCommand,
  push: async () => (await import('./registry-client-commands.js')).pushCommand,
  login: async () => (await import('./registry-client-commands.js')).loginCommand,
  logout: async () => (await import('./registry-client-commands.js')).logoutCommand,
  build: async () => (await import('./build-commands.js')).buildCommand,
  deploy: async () => (await import('./deploy-commands.js')).deployCommand,
  rollback: async () => (await import('./deploy-commands.js')).rollbackCommand,
  releases: async () => (await import('./deploy-commands.js')).releasesCommand,
  diff: async () => (await import('./deploy-commands.js')).diffCommand,
  services: async () => (await import('./deploy-commands.js')).servicesCommand,
  service: async () => (await import('./deploy-commands.js')).serviceCommand,
  down: async () => (await import('./deploy-commands.js')).downCommand,
  events: async () => (await import('./events-command.js')).eventsCommand,
};

const USAGE = `Usage: skiff [--root DIR] [--debug] COMMAND

Images:
  import FILE|- [NAME[:TAG]]     a rootfs tarball becomes a one-layer image (-c CHANGE, -m MESSAGE)
  images [NAME]                   list images with their size, shared and unique parts (--format json, -q)
  tag SOURCE TARGET               give an image another name
  inspect IMAGE...                JSON: manifest, config, layers
  history IMAGE                   the steps that made an image
  save [-o FILE] IMAGE...         OCI layout tar (--format docker-archive for the classic one)
  load [-i FILE]                  an OCI layout tar or a docker save archive
                                  (pull, load, import: --max-layer-size, --max-image-size, --max-expansion
                                  over <root>/settings.json; see system info)
  rmi [-f] IMAGE...               untag and remove images
  build [-t NAME] [-f FILE|-] CONTEXT   a Dockerfile becomes an image; unchanged steps come from the cache
                                  (--build-arg K=V, --target STAGE, --no-cache, --network, --progress plain|json,
                                  --explain-cache, -q)
  pull [--platform P] [-q] NAME   fetch an image; only layers the store lacks are downloaded
  push [-q] [--compression gzip|zstd] NAME [DEST]   send an image; only blobs the registry lacks go
  login -u USER --password-stdin REGISTRY   check and store credentials (~/.docker/config.json)
  logout REGISTRY                 forget them (registries: --tls-verify=false for plain http/any cert)

Containers:
  run [OPTIONS] IMAGE [CMD...]    run a container (-d, -it, --rm, --name, -e, -w, -u, -p, -v, --network,
                                  --memory, --cpus, --pids-limit, --read-only, --cap-add/--cap-drop, --restart,
                                  --storage-opt size=N on xfs with prjquota)
  create, start, restart, stop [-t N], kill [-s SIG], rm [-f], wait CONTAINER...
  ps [-a]                         list containers
  logs [-f] [--tail N] CONTAINER  what a container wrote
  exec [-it] CONTAINER CMD...     run a command in a running container
  container prune                 remove every stopped container
  network create|ls|inspect|rm    user networks: containers on one find each other by name
  volume create|ls|inspect|rm     named volumes (-v NAME:/path)

Deploy (HAProxy in front, zero-downtime switches through its runtime API):
  deploy SERVICE IMAGE [-- CMD...]  next release: start, wait ready, switch traffic, stop the old
                                  (--replicas N, --port [IP:]PORT[:CONTAINER_PORT], --health PATH,
                                  --health-timeout 30s, --drain 5s, --stop-timeout 10, -e, --env-file,
                                  -v, --network, -m MSG)
  deploy [-f FILE]                every service of skiff.yaml / compose.yaml, dependencies first (a compose
                                  file is validated whole: what skiff cannot do is refused with its line)
  down [-f FILE] [--volumes]      remove every service of the project, its networks (named volumes: --volumes)
  releases SERVICE                the release history, newest first
  diff SERVICE A B                what changed between releases A and B (image layers and files, env, ports)
  rollback SERVICE [--to N]       traffic back on the previous release (kept stopped, started again)
  services                        every service, its live release, replicas ready (as HAProxy sees them)
  service rm SERVICE              stop and remove a service's containers, servers and history

System:
  system check                    verify every blob, layer and reference; exit 1 on damage
  system prune                    remove untagged images, unreferenced data and temp files
  system reset -f                 remove everything: containers, networks, volumes, images, the store
  system boot                     start the containers whose restart policy wants them running (at boot)
  events [--since T] [--until T] [-f KEY=VALUE] [--format json]   what happened in the store, then follow it
  system info [--format json]     the store, the OCI runtime containers get, where each program skiff runs is

Registry server (never opens the store; its own --root):
  registry serve --addr HOST:PORT --root DIR   serve the distribution API (--htpasswd FILE, --tls-cert C --tls-key K,
                                  --token-issuer or --token-realm URL --token-key PEM, --max-upload-size,
                                  --repo-quota, --upload-ttl, --log)
  registry gc --root DIR [--dry-run] [--grace 1h]   remove unreferenced blobs, safe while serving

Store: --root DIR, or SKIFF_ROOT (default /var/lib/skiff).
`;

/** Verbs that run without the Engine (and so never open or lock the store). */
const standalone: Record<string, (argv: string[], out: Output) => Promise<number>> = {
  registry: async (argv, out) => (await import('./registry-commands.js')).registryCommand(argv, out),
};

export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  let root: string | undefined;
  let debug = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--root') root = argv[++i];
    else if (arg.startsWith('--root=')) root = arg.slice(7);
    else if (arg === '--debug' || arg === '-D') debug = true;
    else break;
  }
  const [verb, ...rest] = argv.slice(i);
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    out.stdout(USAGE);
    return verb === undefined ? 1 : 0;
  }
  if (verb === 'version' || verb === '--version') {
    out.stdout('skiff 0.1.0\n');
    return 0;
  }
  const load = commands[verb];
  const alone = standalone[verb];
  if (!load && !alone) {
    out.stderr(`Error: unknown command \`${verb}\`; see 'skiff --help'\n`);
    return 2;
  }
  let engine: Engine | undefined;
  try {
    if (alone) {
      // The verb's own --root wins; skiff's global one is only a default for it.
      const own = rest.some((a) => a === '--root' || a.startsWith('--root='));
      return await alone(root === undefined || own ? rest : [...rest, '--root', root], out);
    }
    const [command, { Engine }] = await Promise.all([load!(), import('../engine.js')]);
    engine = Engine.open({ root, notice: (text) => out.stderr(`${text}\n`) });
    return await command(engine, rest, out);
  } catch (err) {
    out.stderr(`Error: ${describeError(err)}\n`);
    if (debug && err instanceof Error) out.stderr(`${err.stack ?? ''}\n`);
    return await exitStatus(err, verb);
  } finally {
    engine?.close();
  }
}

/** Docker's statuses: 126 cannot run, 127 not found, 125 for run's own errors, else 1 (2 usage). */
async function exitStatus(err: unknown, verb: string): Promise<number> {
  const { CannotRun } = await import('../runtime/conmon.js');
  if (err instanceof CannotRun) return err.status;
  if (verb === 'run' || verb === 'create') return 125;
  if (err instanceof SkiffError && err.code === 'USAGE') return 2;
  return 1;
}
