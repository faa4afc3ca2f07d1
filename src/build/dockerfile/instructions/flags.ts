/**
 * Checking an instruction's flags: each instruction accepts a fixed set, each flag is a
 * string, a boolean (`--link`, `--link=false`) or a repeatable string (`--mount`,
 * `--exclude`). Like BuildKit's BFlags, an unknown or repeated flag is an error at its line.
 */
import { DockerfileError, type Node } from '../node.js';

export type FlagKind = 'string' | 'bool' | 'list';

export interface FlagValues {
  strings: Map<string, string>;
  bools: Map<string, boolean>;
  lists: Map<string, string[]>;
}

/** Where errors point: the file name and the node. */
export interface Context {
  file: string;
  escape: '\\' | '`';
}

export function fail(ctx: Context, node: Node, message: string): never {
  throw new DockerfileError(ctx.file, node.startLine, message, { endLine: node.endLine });
}

export function readFlags(ctx: Context, node: Node, allowed: Record<string, FlagKind>): FlagValues {
  const values: FlagValues = { strings: new Map(), bools: new Map(), lists: new Map() };
  for (const flag of node.flags) {
    const kind = Object.hasOwn(allowed, flag.name) ? allowed[flag.name] : undefined;
    if (kind === undefined) fail(ctx, node, `unknown flag \`--${flag.name}\` for ${node.keyword}`);
    if (kind === 'list') {
      if (flag.value === undefined) fail(ctx, node, `missing a value on flag \`--${flag.name}\``);
      values.lists.set(flag.name, [...(values.lists.get(flag.name) ?? []), flag.value]);
      continue;
    }
    if (values.strings.has(flag.name) || values.bools.has(flag.name)) {
      fail(ctx, node, `duplicate flag specified: \`--${flag.name}\``);
    }
    if (kind === 'bool') {
      const v = flag.value?.toLowerCase();
      if (v !== undefined && v !== 'true' && v !== 'false') {
        fail(ctx, node, `expecting boolean value for flag \`--${flag.name}\`, not \`${flag.value}\``);
      }
      values.bools.set(flag.name, v !== 'false');
    } else {
      if (flag.value === undefined || flag.value === '') {
        fail(ctx, node, `missing a value on flag \`--${flag.name}\``);
      }
      values.strings.set(flag.name, flag.value);
    }
  }
  return values;
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration (`30s`, `1m30s`, `500ms`), as HEALTHCHECK takes them; in milliseconds. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (
    !/^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))*$/.test(
      text,
    )
  ) {
    return undefined;
  }
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return total;
}
