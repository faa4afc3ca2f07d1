/**
 * COPY and ADD (Dockerfile reference, "COPY", "ADD"): sources and a destination, in the
 * exec form (needed for paths with spaces) or as whitespace-separated words, plus heredocs
 * used as inline source files (`COPY <<EOF /dest`).
 */
import type { Node } from '../node.js';
import { splitWhitespace } from '../words.js';
import { type Context, type FlagKind, fail, readFlags } from './flags.js';
import type { CopyInstruction } from './types.js';

const COMMON: Record<string, FlagKind> = { chown: 'string', chmod: 'string', link: 'bool', exclude: 'list' };
const COPY_FLAGS: Record<string, FlagKind> = { ...COMMON, from: 'string', parents: 'bool' };
const ADD_FLAGS: Record<string, FlagKind> = { ...COMMON, checksum: 'string', 'keep-git-dir': 'bool' };
const HEREDOC_WORD = /^\d*<<-?[^<]+$/;

export function copyInstruction(ctx: Context, node: Node): CopyInstruction {
  const kind = node.keyword as 'COPY' | 'ADD';
  const flags = readFlags(ctx, node, kind === 'COPY' ? COPY_FLAGS : ADD_FLAGS);
  let words = node.json ?? splitWhitespace(node.rest);
  if (node.heredocs.length > 0 && !node.json) words = words.filter((w) => !HEREDOC_WORD.test(w));
  const dest = words.at(-1);
  const sources = words.slice(0, -1);
  if (dest === undefined || sources.length + node.heredocs.length === 0) {
    fail(
      ctx,
      node,
      `${kind} requires at least two arguments, but only one was provided: destination could not be determined`,
    );
  }
  const copy: CopyInstruction = {
    kind,
    line: node.startLine,
    endLine: node.endLine,
    sources,
    dest,
    heredocs: node.heredocs,
    link: flags.bools.get('link') ?? false,
    exclude: flags.lists.get('exclude') ?? [],
    parents: flags.bools.get('parents') ?? false,
  };
  const from = flags.strings.get('from');
  if (from !== undefined) copy.from = from;
  const chown = flags.strings.get('chown');
  if (chown !== undefined) copy.chown = chown;
  const chmod = flags.strings.get('chmod');
  if (chmod !== undefined) {
    if (!/^[0-7]{1,4}$/.test(chmod)) fail(ctx, node, `invalid \`--chmod=${chmod}\`: must be an octal mode`);
    copy.chmod = parseInt(chmod, 8);
  }
  if (kind === 'ADD') {
    const checksum = flags.strings.get('checksum');
    if (checksum !== undefined) {
      if (!/^sha(256|384|512):[0-9a-f]+$/.test(checksum)) {
        fail(ctx, node, `invalid \`--checksum=${checksum}\`: expected algorithm:hex`);
      }
      copy.checksum = checksum;
    }
    copy.keepGitDir = flags.bools.get('keep-git-dir') ?? false;
  }
  return copy;
}
