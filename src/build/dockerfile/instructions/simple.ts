/**
 * The instructions with plain word arguments: FROM, EXPOSE, VOLUME, USER, WORKDIR,
 * STOPSIGNAL and MAINTAINER (Dockerfile reference, one section each).
 */
import type { Node } from '../node.js';
import { splitWhitespace } from '../words.js';
import { type Context, fail, readFlags } from './flags.js';
import type {
  ExposeInstruction,
  FromInstruction,
  UserInstruction,
  VolumeInstruction,
  WordInstruction,
} from './types.js';

/** BuildKit's rule for stage names: lower-case letter first, then letters, digits, `-_.`. */
const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

export function fromInstruction(ctx: Context, node: Node): FromInstruction {
  const flags = readFlags(ctx, node, { platform: 'string' });
  const words = splitWhitespace(node.rest);
  if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) {
    fail(ctx, node, 'FROM requires either one or three arguments: FROM <image> [AS <name>]');
  }
  const from: FromInstruction = {
    kind: 'FROM',
    line: node.startLine,
    endLine: node.endLine,
    image: words[0]!,
  };
  if (words.length === 3) {
    const name = words[2]!.toLowerCase();
    if (!STAGE_NAME.test(name)) {
      fail(
        ctx,
        node,
        `invalid name for build stage \`${words[2]}\`: it must start with a letter and hold only letters, digits, '-', '_' and '.'`,
      );
    }
    from.name = name;
  }
  const platform = flags.strings.get('platform');
  if (platform !== undefined) from.platform = platform;
  return from;
}

/** `80`, `80/tcp`, `8000-8010/udp`; words holding a variable are checked after expansion. */
export function parsePort(word: string): { start: number; end: number; protocol: string } | undefined {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(word);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start < 1 || end > 65535 || end < start) return undefined;
  return { start, end, protocol: (m[3] ?? 'tcp').toLowerCase() };
}

export function exposeInstruction(ctx: Context, node: Node): ExposeInstruction {
  readFlags(ctx, node, {});
  const ports = splitWhitespace(node.rest);
  if (ports.length === 0) fail(ctx, node, 'EXPOSE requires at least one argument');
  for (const port of ports) {
    if (!port.includes('$') && !parsePort(port)) fail(ctx, node, `invalid port \`${port}\` in EXPOSE`);
  }
  return { kind: 'EXPOSE', line: node.startLine, endLine: node.endLine, ports };
}

export function volumeInstruction(ctx: Context, node: Node): VolumeInstruction {
  readFlags(ctx, node, {});
  const paths = node.json ?? splitWhitespace(node.rest);
  if (paths.length === 0) fail(ctx, node, 'VOLUME requires at least one argument');
  if (paths.some((p) => p.trim() === '')) fail(ctx, node, 'VOLUME specified can not be an empty string');
  return { kind: 'VOLUME', line: node.startLine, endLine: node.endLine, paths };
}

export function userInstruction(ctx: Context, node: Node): UserInstruction {
  readFlags(ctx, node, {});
  const words = splitWhitespace(node.rest);
  if (words.length !== 1) fail(ctx, node, 'USER requires exactly one argument');
  const [user, group] = splitColon(words[0]!);
  const out: UserInstruction = { kind: 'USER', line: node.startLine, endLine: node.endLine, user };
  if (group !== undefined) out.group = group;
  return out;
}

/** WORKDIR and MAINTAINER take the whole rest of the line; STOPSIGNAL one word. */
export function wordInstruction(ctx: Context, node: Node): WordInstruction {
  readFlags(ctx, node, {});
  const kind = node.keyword as WordInstruction['kind'];
  if (node.rest === '') fail(ctx, node, `${kind} requires exactly one argument`);
  if (kind === 'STOPSIGNAL' && splitWhitespace(node.rest).length !== 1) {
    fail(ctx, node, 'STOPSIGNAL requires exactly one argument');
  }
  return { kind, line: node.startLine, endLine: node.endLine, value: node.rest };
}

function splitColon(word: string): [string, string | undefined] {
  const colon = word.indexOf(':');
  return colon < 0 ? [word, undefined] : [word.slice(0, colon), word.slice(colon + 1)];
}
