/** `skiff pause` and `skiff unpause`: freeze and thaw the processes of running containers. */
import type { Engine } from '../engine.js';
import { needArgs, parseArgs, type CommandSpec } from './args.js';
import { PAUSE, UNPAUSE } from './container-flags.js';
import type { Output } from './output.js';

export function pauseCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  return pauseOrUnpause(engine, argv, out, PAUSE);
}

export function unpauseCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  return pauseOrUnpause(engine, argv, out, UNPAUSE);
}

async function pauseOrUnpause(
  engine: Engine,
  argv: string[],
  out: Output,
  verb: CommandSpec,
): Promise<number> {
  const p = parseArgs(argv, verb);
  needArgs(p, verb, 1, Infinity);
  for (const name of p.positionals) {
    if (verb === PAUSE) await engine.pause(name);
    else await engine.unpause(name);
    out.stdout(`${name}\n`);
  }
  return 0;
}
