/**
 * A small argument parser: Docker-style long and short flags, `--x=v`, `-abc`, and `--`. It
 * reads a verb's CommandSpec, the same table `--help` and the README's command list are
 * rendered from (commands.ts), so what is accepted and what is documented cannot differ.
 */
import fs from 'node:fs';
import { InvalidArgument } from '../util/errors.js';

interface FlagBase {
  name: string;
  short?: string;
  /** A few words for `--help`. */
  help: string;
  /** Accepted but not listed: an alias such as `--net` for `--network`. */
  hidden?: boolean;
}

/** A flag: a switch, or one that takes a value (`list`: each use adds one). */
export type FlagSpec =
  | (FlagBase & { kind: 'boolean' })
  | (FlagBase & {
      kind: 'string' | 'list';
      /** Its value in `--help`: `N`, `FILE`, `KEY=VALUE`, `json|table`. */
      value: string;
    });

/** One verb or sub-verb (`build`, `network create`): what it takes and what it is for. */
export interface CommandSpec {
  /** The words that name it: `build`, `network create`. */
  name: string;
  /** What follows the name in `--help` and in usage errors: `[OPTIONS] CONTEXT|-`. */
  synopsis: string;
  /** One line for the overview. */
  summary: string;
  /** More, for its own `--help` only: lines of at most 100 characters. */
  details?: string;
  flags: readonly FlagSpec[];
  /** The first positional ends the flags: in `run IMAGE CMD -x`, -x is CMD's. */
  stopAtPositional?: boolean;
  /** Other names of its last word (`network list` for `network ls`). */
  aliases?: readonly string[];
  /** Run by skiff itself (conmon's `container cleanup`), not listed. */
  hidden?: boolean;
}

export interface Parsed {
  flags: Map<string, string | boolean | string[]>;
  positionals: string[];
}

export function parseArgs(argv: string[], command: CommandSpec): Parsed {
  return parseFlags(argv, command.flags, command.name, command.stopAtPositional === true);
}

/**
 * Whether `argv` asks for `command`'s help: `--help` (or `-h`, unless the verb has its own)
 * where a flag may stand. Anything the parser would refuse is left for the verb to report.
 */
export function asksForHelp(argv: string[], command: CommandSpec): boolean {
  const help: FlagSpec = { name: 'help', kind: 'boolean', help: 'this help' };
  if (!command.flags.some((f) => f.short === 'h')) help.short = 'h';
  try {
    const p = parseFlags(argv, [...command.flags, help], command.name, command.stopAtPositional === true);
    return p.flags.get('help') === true;
  } catch {
    return false;
  }
}

function parseFlags(
  argv: string[],
  specs: readonly FlagSpec[],
  command: string,
  stopAtPositional: boolean,
): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const flags = new Map<string, string | boolean | string[]>();
  const positionals: string[] = [];
  const set = (spec: FlagSpec, value: string | boolean) => {
    if (spec.kind === 'list')
      flags.set(spec.name, [...((flags.get(spec.name) as string[]) ?? []), String(value)]);
    else flags.set(spec.name, value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = byName.get(name);
      if (!spec) throw new InvalidArgument(`${command}: unknown flag: --${name}`, { code: 'USAGE' });
      if (spec.kind === 'boolean') {
        set(spec, eq < 0 ? true : arg.slice(eq + 1) !== 'false');
      } else {
        const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
        if (value === undefined)
          throw new InvalidArgument(`${command}: flag needs an argument: --${name}`, { code: 'USAGE' });
        set(spec, value);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const spec = byShort.get(arg[j]!);
        if (!spec)
          throw new InvalidArgument(`${command}: unknown shorthand flag: '${arg[j]}' in ${arg}`, {
            code: 'USAGE',
          });
        if (spec.kind === 'boolean') {
          set(spec, true);
          continue;
        }
        const rest = arg.slice(j + 1);
        const value = rest.length > 0 ? rest : argv[++i];
        if (value === undefined)
          throw new InvalidArgument(`${command}: flag needs an argument: -${arg[j]}`, { code: 'USAGE' });
        set(spec, value);
        break;
      }
      continue;
    }
    if (stopAtPositional) {
      // `run IMAGE CMD -x`: everything after the image belongs to the command.
      positionals.push(...argv.slice(i));
      break;
    }
    positionals.push(arg);
  }
  return { flags, positionals };
}

export function str(parsed: Parsed, name: string): string | undefined {
  const v = parsed.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function bool(parsed: Parsed, name: string): boolean {
  return parsed.flags.get(name) === true;
}

export function list(parsed: Parsed, name: string): string[] {
  const v = parsed.flags.get(name);
  return Array.isArray(v) ? v : [];
}

/**
 * `--format`: one of `choices`, or undefined when not given (the first choice names the
 * default output, so it can also be asked for). Anything else is a usage error naming it:
 * skiff takes no Go templates (`{{.ID}}`), and printing the default output for one would
 * hand a script something it did not ask for.
 */
export function formatFlag<T extends string>(
  parsed: Parsed,
  command: string,
  choices: readonly T[],
): T | undefined {
  const value = str(parsed, 'format');
  if (value === undefined || (choices as readonly string[]).includes(value)) return value as T | undefined;
  throw new InvalidArgument(
    `${command}: unknown --format \`${value}\` (${choices.join(' or ')}; Go templates are not supported)`,
    { code: 'USAGE' },
  );
}

/** A usage error unless `min`..`max` positionals were given; it shows the command's synopsis. */
export function needArgs(parsed: Parsed, command: CommandSpec, min: number, max: number): void {
  const n = parsed.positionals.length;
  if (n < min || n > max) {
    const want = min === max ? `exactly ${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    const last = min === max || max === Infinity ? min : max;
    throw new InvalidArgument(
      `"skiff ${command.name}" requires ${want} argument${last === 1 ? '' : 's'}; usage: ${usageLine(command)}`,
      { code: 'USAGE' },
    );
  }
}

/** `skiff build [OPTIONS] CONTEXT|-` */
export function usageLine(command: CommandSpec): string {
  return `skiff ${command.name}${command.synopsis === '' ? '' : ` ${command.synopsis}`}`;
}

/** `--filter KEY=VALUE`, repeatable, as key → values (Docker's filters). */
export function filterOption(parsed: Parsed, command: string): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const f of list(parsed, 'filter')) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new InvalidArgument(`${command}: bad filter \`${f}\` (KEY=VALUE)`, { code: 'USAGE' });
    (filters[f.slice(0, eq)] ??= []).push(f.slice(eq + 1));
  }
  return filters;
}

/** `--label KEY=VALUE` (or a bare `KEY`, an empty value), as Docker takes labels. */
export function labelOption(parsed: Parsed): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of list(parsed, 'label')) {
    const eq = l.indexOf('=');
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  return labels;
}

/**
 * The environment of `--env-file` and `-e`: the files' lines first, so `-e` wins as in Docker;
 * a bare `NAME` takes the caller's value.
 */
export function envOption(parsed: Parsed): string[] {
  const env: string[] = [];
  for (const file of list(parsed, 'env-file')) {
    if (!fs.existsSync(file)) throw new InvalidArgument(`invalid env file \`${file}\`: no such file`);
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const trimmed = line.trim();
      if (trimmed !== '' && !trimmed.startsWith('#')) env.push(trimmed);
    }
  }
  env.push(...list(parsed, 'env'));
  return env.map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`));
}
