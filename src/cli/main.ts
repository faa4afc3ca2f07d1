/**
 * The `skiff` command: picks the verb, runs it over the Engine, and turns errors into one
 * line on stderr and an exit status. The only place that prints.
 */
import type { Engine } from '../engine.js';
import { exitStatusOf } from '../util/error-codes.js';
import { SkiffError, describeError } from '../util/errors.js';
import { bool, parseArgs, str, type Parsed } from './args.js';
import { SKIFF } from './commands.js';
import { processOutput, type Output } from './output.js';
import { helpFor, helpRequested, overview } from './usage.js';

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
  restart: async () => (await import('./container-commands.js')).restartCommand,
  kill: async () => (await import('./container-commands.js')).killCommand,
  rm: async () => (await import('./container-commands.js')).rmCommand,
  wait: async () => (await import('./container-commands.js')).waitCommand,
  rename: async () => (await import('./process-commands.js')).renameCommand,
  top: async () => (await import('./process-commands.js')).topCommand,
  stats: async () => (await import('./process-commands.js')).statsCommand,
  container: async () => (await import('./container-commands.js')).containerCommand,
  cp: async () => (await import('./cp-command.js')).cpCommand,
  pause: async () => (await import('./pause-commands.js')).pauseCommand,
  unpause: async () => (await import('./pause-commands.js')).unpauseCommand,
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

/** Verbs that run without the Engine (and so never open or lock the store). */
const standalone: Record<string, (argv: string[], out: Output) => Promise<number>> = {
  registry: async (argv, out) => (await import('./registry-commands.js')).registryCommand(argv, out),
};

/** Every verb main runs: the command table (commands.ts) must list each, and no other. */
export function knownVerbs(): string[] {
  return [...Object.keys(commands), ...Object.keys(standalone), 'help', 'version'];
}

export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  let global: Parsed;
  try {
    global = parseArgs(argv, SKIFF);
  } catch (err) {
    out.stderr(`Error: ${describeError(err)}; see 'skiff --help'\n`);
    return 2;
  }
  const root = str(global, 'root');
  const debug = bool(global, 'debug');
  const [verb, ...rest] = global.positionals;
  if (bool(global, 'version') || verb === 'version') {
    out.stdout('skiff 0.1.0\n');
    return 0;
  }
  if (bool(global, 'help') || verb === 'help') {
    const words = verb === 'help' ? rest : global.positionals;
    const help = helpFor(words);
    if (help === undefined) return unknownCommand(words.join(' '), out);
    out.stdout(help);
    return 0;
  }
  if (verb === undefined) {
    out.stdout(overview());
    return 1;
  }
  const load = commands[verb];
  const alone = standalone[verb];
  if (!load && !alone) return unknownCommand(verb, out);
  // Answered from the command table alone: the verb's code is not loaded for its help.
  const help = helpRequested([verb, ...rest]);
  if (help !== undefined) {
    out.stdout(help);
    return 0;
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
    return exitStatus(err, verb);
  } finally {
    engine?.close();
  }
}

function unknownCommand(words: string, out: Output): number {
  out.stderr(`Error: unknown command \`${words}\`; see 'skiff --help'\n`);
  return 2;
}

/**
 * The catalogue's exit status (util/error-codes.ts: 126 cannot run, 127 not found, 2 usage,
 * else 1), except that run and create answer their own failures with 125, as docker does.
 */
function exitStatus(err: unknown, verb: string): number {
  const status = err instanceof SkiffError ? exitStatusOf(err.code) : 1;
  if (verb !== 'run' && verb !== 'create') return status;
  return status === 126 || status === 127 ? status : 125;
}
