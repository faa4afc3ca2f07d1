/** The container verbs: run, create, start, ps, logs, exec, stop, kill, restart, rm, wait, prune. */
import type { CreateOptions, Engine, RunStreams } from '../engine.js';
import { InvalidArgument } from '../util/errors.js';
import { timeAgo } from '../util/format.js';
import {
  bool,
  envOption,
  filterOption,
  labelOption,
  formatFlag,
  list,
  needArgs,
  parseArgs,
  str,
  type CommandSpec,
  type Parsed,
} from './args.js';
import {
  CONTAINER_PRUNE,
  CREATE,
  EXEC,
  KILL,
  LOGS,
  PS,
  RESTART,
  RM,
  RUN,
  START,
  STOP,
  WAIT,
} from './container-flags.js';
import { subcommandNames } from './commands.js';
import { table } from './table.js';
import type { Output } from './output.js';

function createOptions(p: Parsed): CreateOptions {
  const [image, ...command] = p.positionals as [string, ...string[]];
  const entrypoint = str(p, 'entrypoint');
  const pids = str(p, 'pids-limit');
  const stopTimeout = str(p, 'stop-timeout');
  const healthRetries = str(p, 'health-retries');
  const labels = labelOption(p);
  return {
    image,
    name: str(p, 'name'),
    command,
    entrypoint: entrypoint === undefined ? undefined : entrypoint === '' ? [] : [entrypoint],
    env: envOption(p),
    workdir: str(p, 'workdir'),
    user: str(p, 'user'),
    tty: bool(p, 'tty'),
    interactive: bool(p, 'interactive'),
    hostname: str(p, 'hostname'),
    network: str(p, 'network') ?? str(p, 'net'),
    networkAliases: list(p, 'network-alias'),
    publish: list(p, 'publish'),
    volumes: list(p, 'volume'),
    tmpfs: list(p, 'tmpfs'),
    readOnly: bool(p, 'read-only'),
    privileged: bool(p, 'privileged'),
    capAdd: list(p, 'cap-add'),
    capDrop: list(p, 'cap-drop'),
    memory: str(p, 'memory'),
    cpus: str(p, 'cpus'),
    pidsLimit: pids === undefined ? undefined : integer(pids, 'pids-limit'),
    ulimits: list(p, 'ulimit'),
    restart: str(p, 'restart'),
    rm: bool(p, 'rm'),
    runtime: str(p, 'runtime'),
    stopSignal: str(p, 'stop-signal'),
    stopTimeout: stopTimeout === undefined ? undefined : integer(stopTimeout, 'stop-timeout'),
    labels,
    healthCmd: str(p, 'health-cmd'),
    healthInterval: str(p, 'health-interval'),
    healthTimeout: str(p, 'health-timeout'),
    healthRetries: healthRetries === undefined ? undefined : integer(healthRetries, 'health-retries'),
    healthStartPeriod: str(p, 'health-start-period'),
    noHealthcheck: bool(p, 'no-healthcheck'),
    storageOpt: storageOpt(list(p, 'storage-opt')),
  };
}

/** `--storage-opt KEY=VALUE`…; the keys and values are the runtime's to judge. */
function storageOpt(values: string[]): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  const options: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0)
      throw new InvalidArgument(`invalid --storage-opt \`${v}\`: expected KEY=VALUE, such as size=10g`);
    options[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return options;
}

function integer(value: string, flag: string): number {
  if (!/^-?\d+$/.test(value))
    throw new InvalidArgument(`invalid argument \`${value}\` for --${flag}: not an integer`);
  return Number(value);
}

export async function runCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, RUN);
  needArgs(p, RUN, 1, Infinity);
  const options = createOptions(p);
  if (bool(p, 'detach') && options.rm && options.restart && options.restart !== 'no') {
    throw new InvalidArgument('run: --rm and --restart cannot be used together');
  }
  if (bool(p, 'detach')) {
    out.stdout(`${(await engine.run(options, { detach: true })).id}\n`);
    return 0;
  }
  return runAttached(engine, options, out);
}

/** A foreground run: this terminal's streams, raw and sized when the container has a tty. */
async function runAttached(engine: Engine, options: CreateOptions, out: Output): Promise<number> {
  const { exitCode } = await engine.run(options, {
    streams: terminalStreams(options.tty === true, options.interactive === true),
    onRemoveError: (err) => out.stderr(`${err.message}\n`),
  });
  return exitCode!;
}

/** This process's streams for a container: raw and sized when it has a tty, stdin when interactive. */
function terminalStreams(tty: boolean, interactive: boolean): RunStreams {
  let resize: (() => void) | undefined;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: interactive ? process.stdin : undefined,
    tty,
    onAttached: (attached) => {
      if (tty && process.stdout.isTTY) {
        resize = () => attached.resize(process.stdout.rows ?? 24, process.stdout.columns ?? 80);
        resize();
        process.stdout.on('resize', resize);
      }
      if (tty && process.stdin.isTTY && interactive) process.stdin.setRawMode(true);
    },
    onDetached: () => {
      if (resize) process.stdout.off('resize', resize);
      if (interactive) {
        if (tty && process.stdin.isTTY) process.stdin.setRawMode(false);
        process.stdin.pause();
      }
    },
  };
}

export function createCommand(engine: Engine, argv: string[], out: Output): number {
  const p = parseArgs(argv, CREATE);
  needArgs(p, CREATE, 1, Infinity);
  const row = engine.createContainer(createOptions(p));
  out.stdout(`${row.id}\n`);
  return 0;
}

export async function startCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, START);
  needArgs(p, START, 1, Infinity);
  const attach = bool(p, 'attach');
  if (bool(p, 'interactive') && !attach)
    throw new InvalidArgument('start: -i needs -a (attach)', { code: 'USAGE' });
  if (attach) {
    // As docker: one terminal can follow one container's streams.
    if (p.positionals.length > 1)
      throw new InvalidArgument('start: -a takes one container, not several', { code: 'USAGE' });
    return startAttached(engine, p.positionals[0]!, bool(p, 'interactive'));
  }
  for (const name of p.positionals) {
    await engine.startContainer(name);
    out.stdout(`${name}\n`);
  }
  return 0;
}

/**
 * `start -a`: the container's output on this terminal until it exits, and its exit status;
 * with `-i`, this terminal's input too when it was created with -i (as docker, a container
 * made without an open stdin gets none). One that cannot start stays, as `start` leaves it.
 */
async function startAttached(engine: Engine, name: string, interactive: boolean): Promise<number> {
  const { tty, interactive: openStdin } = engine.container(name).options;
  const streams = terminalStreams(tty === true, interactive && openStdin === true);
  const { exited } = await engine.startContainerAttached(name, streams, { keepOnFailure: true });
  return exited;
}

export function psCommand(engine: Engine, argv: string[], out: Output): number {
  const p = parseArgs(argv, PS);
  needArgs(p, PS, 0, 0);
  const format = formatFlag(p, 'ps', ['table', 'json']);
  const rows = engine.containers({ all: bool(p, 'all') });
  if (format === 'json') {
    // What `ps` shows, as JSON; the create options (env included) are `inspect`'s to show.
    const shown = rows.map(({ options: _options, ...row }) => row);
    out.stdout(`${JSON.stringify(shown, null, 2)}\n`);
    return 0;
  }
  const id = (s: string) => (bool(p, 'no-trunc') ? s : s.slice(0, 12));
  if (bool(p, 'quiet')) {
    out.stdout(rows.map((r) => `${id(r.id)}\n`).join(''));
    return 0;
  }
  const status = (r: (typeof rows)[number]) =>
    r.state === 'running'
      ? `Up ${timeAgo(r.started ?? undefined).replace(/ ago$/, '')}${r.paused ? ' (Paused)' : ''}${r.health ? ` (${r.health === 'starting' ? 'health: starting' : r.health})` : ''}`
      : r.state === 'exited'
        ? `Exited (${r.exitCode ?? 0}) ${timeAgo(r.finished ?? undefined)}`
        : 'Created';
  const ports = (r: (typeof rows)[number]) =>
    r.ports.map((m) => `${m.hostIp ?? '0.0.0.0'}:${m.hostPort}->${m.containerPort}/${m.protocol}`).join(', ');
  out.stdout(
    table(
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      rows.map((r) => [
        id(r.id),
        r.image,
        JSON.stringify(
          bool(p, 'no-trunc') || r.command.length <= 20 ? r.command : `${r.command.slice(0, 19)}…`,
        ),
        timeAgo(r.created),
        status(r),
        ports(r),
        r.name,
      ]),
    ),
  );
  return 0;
}

export async function logsCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, LOGS);
  needArgs(p, LOGS, 1, 1);
  const tailFlag = str(p, 'tail');
  const tail = tailFlag === undefined || tailFlag === 'all' ? undefined : integer(tailFlag, 'tail');
  for await (const line of engine.logs(p.positionals[0]!, { follow: bool(p, 'follow'), tail })) {
    const text = bool(p, 'timestamps') ? `${line.time} ${line.text}` : line.text;
    if (line.stream === 'stderr') out.stderr(text);
    else out.stdout(text);
  }
  return 0;
}

export async function execCommand(engine: Engine, argv: string[]): Promise<number> {
  const p = parseArgs(argv, EXEC);
  needArgs(p, EXEC, 2, Infinity);
  const [name, ...command] = p.positionals as [string, ...string[]];
  return engine.exec(name, command, {
    tty: bool(p, 'tty') && process.stdin.isTTY === true,
    env: list(p, 'env'),
    user: str(p, 'user'),
    workdir: str(p, 'workdir'),
  });
}

export function stopCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  return stopOrRestart(engine, argv, out, STOP);
}

export function restartCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  return stopOrRestart(engine, argv, out, RESTART);
}

async function stopOrRestart(
  engine: Engine,
  argv: string[],
  out: Output,
  verb: CommandSpec,
): Promise<number> {
  const p = parseArgs(argv, verb);
  needArgs(p, verb, 1, Infinity);
  const time = str(p, 'time');
  for (const name of p.positionals) {
    const seconds = time === undefined ? undefined : integer(time, 'time');
    if (verb === RESTART) await engine.restart(name, seconds);
    else await engine.stop(name, seconds);
    out.stdout(`${name}\n`);
  }
  return 0;
}

export function killCommand(engine: Engine, argv: string[], out: Output): number {
  const p = parseArgs(argv, KILL);
  needArgs(p, KILL, 1, Infinity);
  for (const name of p.positionals) {
    engine.kill(name, str(p, 'signal') ?? 'KILL');
    out.stdout(`${name}\n`);
  }
  return 0;
}

export async function rmCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, RM);
  needArgs(p, RM, 1, Infinity);
  for (const name of p.positionals) {
    await engine.removeContainer(name, { force: bool(p, 'force') });
    out.stdout(`${name}\n`);
  }
  return 0;
}

export async function waitCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, WAIT);
  needArgs(p, WAIT, 1, Infinity);
  for (const name of p.positionals) out.stdout(`${await engine.wait(name)}\n`);
  return 0;
}

export async function containerCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'cleanup') {
    // Run by conmon when a detached container exits.
    await engine.cleanupContainer(rest[0] ?? '', rest[1]);
    return 0;
  }
  if (verb === 'supervise') {
    // The per-host supervisor (health checks); started on demand, exits when idle.
    await engine.supervise();
    return 0;
  }
  if (verb === 'prune') {
    const p = parseArgs(rest, CONTAINER_PRUNE);
    needArgs(p, CONTAINER_PRUNE, 0, 0);
    const { deleted } = await engine.pruneContainers(filterOption(p, 'container prune'));
    for (const id of deleted) out.stdout(`${id}\n`);
    out.stdout(`Deleted ${deleted.length} containers\n`);
    return 0;
  }
  throw new InvalidArgument(
    `container: unknown command \`${verb ?? ''}\` (${subcommandNames('container')})`,
    {
      code: 'USAGE',
    },
  );
}
