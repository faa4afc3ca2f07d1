/**
 * ENV, LABEL and ARG: `name=value` pairs whose words keep their quotes until expansion
 * (Dockerfile reference, "ENV", "LABEL", "ARG"). ENV and LABEL also take the legacy
 * `ENV name value…` form, where everything after the name is the value.
 */
import type { Node } from '../node.js';
import { splitRawWords } from '../words.js';
import { type Context, fail, readFlags } from './flags.js';
import type { ArgInstruction, EnvInstruction, KeyValue } from './types.js';

export function envInstruction(ctx: Context, node: Node): EnvInstruction {
  readFlags(ctx, node, {});
  const kind = node.keyword as 'ENV' | 'LABEL';
  const words = splitRawWords(node.rest, ctx.escape);
  if (words.length === 0) fail(ctx, node, `${kind} requires at least one argument`);
  const pairs: KeyValue[] = [];
  if (!words[0]!.includes('=')) {
    // Legacy form: the first word is the name, the rest of the line (spaces and all) the value.
    const [key, value] = splitOnce(node.rest);
    if (value === '') fail(ctx, node, `${kind} must have two arguments`);
    pairs.push({ key, value });
  } else {
    for (const word of words) {
      const eq = word.indexOf('=');
      if (eq < 0) {
        fail(ctx, node, `syntax error: can't find = in \`${word}\`: must be of the form name=value`);
      }
      pairs.push({ key: word.slice(0, eq), value: word.slice(eq + 1) });
    }
  }
  for (const pair of pairs) {
    if (pair.key === '') fail(ctx, node, `${kind} names can not be blank`);
  }
  return { kind, line: node.startLine, endLine: node.endLine, pairs };
}

export function argInstruction(ctx: Context, node: Node): ArgInstruction {
  readFlags(ctx, node, {});
  const words = splitRawWords(node.rest, ctx.escape);
  if (words.length === 0) fail(ctx, node, 'ARG requires at least one argument');
  const args = words.map((word) => {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    if (name === '') fail(ctx, node, 'ARG names can not be blank');
    return eq < 0 ? { name } : { name, default: word.slice(eq + 1) };
  });
  return { kind: 'ARG', line: node.startLine, endLine: node.endLine, args };
}

function splitOnce(text: string): [string, string] {
  const space = text.search(/\s/);
  return space < 0 ? [text, ''] : [text.slice(0, space), text.slice(space).trim()];
}
