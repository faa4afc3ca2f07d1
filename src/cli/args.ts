/** A small argument parser: Docker-style long and short flags, `--x=v`, `-abc`, and `--`. */
import fs from 'node:fs';
import { InvalidArgument } from '../util/errors.js';

export interface FlagSpec {
  name: string;
  short?: string;
  kind: 'boolean' | 'string' | 'list';
}

export interface Parsed {
  flags: Map<string, string | boolean | string[]>;
  positionals: string[];
}

export function parseArgs(
  argv: string[],
  specs: FlagSpec[],
  command: string,
  options: { stopAtPositional?: boolean } = {},
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
    if (options.stopAtPositional) {
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

export function needArgs(parsed: Parsed, command: string, min: number, max: number, usage: string): void {
  const n = parsed.positionals.length;
  if (n < min || n > max) {
    const want = min === max ? `exactly ${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new InvalidArgument(
      `"skiff ${command}" requires ${want} argument${max === 1 ? '' : 's'}; usage: skiff ${command} ${usage}`,
      {
        code: 'USAGE',
      },
    );
  }
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
