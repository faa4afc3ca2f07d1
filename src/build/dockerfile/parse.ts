/**
 * Dockerfile text → nodes: parser directives, line continuations, comments, flags, the exec
 * (JSON) form and here-documents, each node with its line range. What each instruction means
 * is instructions/'s business; this layer knows only the syntax (Dockerfile reference,
 * "Format", "Parser directives", "Here-Documents"), in the way BuildKit's
 * frontend/dockerfile/parser reads it.
 */
import {
  DockerfileError,
  type Directives,
  type Heredoc,
  type Node,
  type ParseResult,
  type Warning,
} from './node.js';
import { extractFlags, splitFlag, splitRawWords } from './words.js';

export interface ParseOptions {
  /** The name used in error messages: `Dockerfile:7: …`. */
  file?: string;
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
/** The instructions whose arguments may be a JSON array (reference: "exec form"). */
const JSON_FORM = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'COPY', 'ADD', 'VOLUME', 'SHELL']);
/** Here-documents are recognised only for these (reference: "Here-Documents"). */
const HEREDOC_FORM = new Set(['RUN', 'COPY', 'ADD']);
const HEREDOC = /^(\d*)<<(-?)([^<]*)$/;

export function parseDockerfile(text: string, options: ParseOptions = {}): ParseResult {
  const file = options.file ?? 'Dockerfile';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  // The newline that ends the last line does not start another one.
  if (lines.at(-1) === '') lines.pop();
  const { directives, count } = readDirectives(lines, file);
  const continuation = continuationPattern(directives.escape);
  const nodes: Node[] = [];
  const warnings: Warning[] = [];

  for (let i = count; i < lines.length; i++) {
    const first = lines[i]!.trimStart();
    if (first === '' || first.startsWith('#')) continue;
    const startLine = i + 1;
    let [line, more] = trimContinuation(first, continuation);
    // Comments and blank lines inside a continuation are dropped, not ends of the instruction:
    // reference "Format" ("comment lines are removed before the Dockerfile instructions are
    // executed"), and BuildKit only warns about empty continuation lines.
    let emptyLine = false;
    while (more && i + 1 < lines.length) {
      const next = lines[++i]!;
      const trimmed = next.trimStart();
      if (trimmed === '') emptyLine = true;
      if (trimmed.startsWith('#') || trimmed === '') continue;
      let part: string;
      [part, more] = trimContinuation(next, continuation);
      line += part;
    }
    if (line.trim() === '') continue;
    const node = nodeFromLine(line, { startLine, escape: directives.escape, file });
    for (const heredoc of node.heredocs) {
      i = readHeredoc(lines, i, heredoc, { file, startLine });
    }
    node.endLine = i + 1;
    nodes.push(node);
    if (emptyLine) {
      warnings.push({
        line: startLine,
        rule: 'NoEmptyContinuation',
        message: 'empty continuation line: a future Dockerfile syntax may end the instruction there',
      });
    }
    if (node.keyword === 'MAINTAINER') {
      warnings.push({
        line: startLine,
        rule: 'MaintainerDeprecated',
        message: 'MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors=…',
      });
    }
  }
  if (nodes.length === 0) throw new DockerfileError(file, 1, 'file with no instructions');
  return { directives, nodes, warnings };
}

/**
 * Directives are only recognised at the very top: the first line that is not one (an
 * instruction, a comment, a blank line, an unknown `# key=value`) ends them (reference,
 * "Parser directives").
 */
function readDirectives(lines: string[], file: string): { directives: Directives; count: number } {
  const directives: Directives = { escape: '\\' };
  const seen = new Set<string>();
  let count = 0;
  for (; count < lines.length; count++) {
    const match = DIRECTIVE.exec(lines[count]!.trimStart());
    const key = match?.[1]?.toLowerCase();
    if (!match || !key || !KNOWN_DIRECTIVES.has(key)) break;
    if (seen.has(key))
      throw new DockerfileError(file, count + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    const value = match[2]!;
    if (key === 'escape') {
      if (value !== '\\' && value !== '`') {
        throw new DockerfileError(file, count + 1, `invalid escape token \`${value}\`: must be \` or \\`);
      }
      directives.escape = value;
    } else if (key === 'syntax') {
      directives.syntax = value;
    } else {
      directives.check = value;
    }
  }
  return { directives, count };
}

/**
 * The escape character as the last non-blank of a line continues it onto the next, unless
 * an escape precedes it: `trailing\\` ends in an escaped escape and stays one line. This is
 * BuildKit's rule (`([^\\])\\[ \t]*$|^\\[ \t]*$`), which looks at one character back only, so
 * three escapes at the end (`\\\`) do not continue the line either.
 */
function continuationPattern(escape: string): RegExp {
  const e = escape === '`' ? '`' : '\\\\';
  return new RegExp(`^([\\s\\S]*?)(?<!${e})${e}[ \\t]*$`);
}

function trimContinuation(line: string, pattern: RegExp): [string, boolean] {
  const match = pattern.exec(line);
  return match ? [match[1]!, true] : [line, false];
}

/** One logical line (continuations joined) into a node; ONBUILD uses it for its trigger. */
export function nodeFromLine(line: string, at: { startLine: number; escape: string; file: string }): Node {
  const { startLine, escape } = at;
  const [keyword, after] = splitKeyword(line);
  const { flags, rest } = extractFlags(after);
  const node: Node = {
    keyword,
    startLine,
    endLine: startLine,
    flags: flags.map(splitFlag),
    rest: rest.trim(),
    heredocs: [],
  };
  if (JSON_FORM.has(keyword)) {
    const json = parseJsonArray(node.rest);
    if (json === NOT_STRINGS) throw new DockerfileError(at.file, startLine, NOT_STRINGS_MESSAGE);
    if (json) node.json = json;
  }
  // An exec form has no heredocs; ONBUILD may carry them for its trigger (`ONBUILD RUN <<EOF`).
  const target = keyword === 'ONBUILD' ? splitKeyword(node.rest)[0] : keyword;
  if (HEREDOC_FORM.has(target) && !node.json) node.heredocs = heredocMarkers(rest, escape);
  return node;
}

function splitKeyword(line: string): [string, string] {
  const trimmed = line.trim();
  const space = trimmed.search(/\s/);
  return space < 0
    ? [trimmed.toUpperCase(), '']
    : [trimmed.slice(0, space).toUpperCase(), trimmed.slice(space)];
}

export const NOT_STRINGS = 'not-strings';
export const NOT_STRINGS_MESSAGE = 'when using JSON array syntax, arrays must be comprised of strings only';

/**
 * The exec form: a JSON array of strings. Text that starts with `[` but is not JSON is the
 * shell form (reference, "Shell and exec form": "if the exec form is not valid JSON, it is
 * treated as shell form"); valid JSON holding a non-string is an error, as in BuildKit.
 */
export function parseJsonArray(text: string): string[] | typeof NOT_STRINGS | undefined {
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  return value.every((v) => typeof v === 'string') ? (value as string[]) : NOT_STRINGS;
}

function heredocMarkers(rest: string, escape: string): Heredoc[] {
  const heredocs: Heredoc[] = [];
  const words = splitRawWords(rest, escape);
  for (let i = 0; i < words.length; i++) {
    let word = words[i]!;
    // `cat << EOF`: sh allows blanks between the operator and the delimiter.
    if (/^\d*<<-?$/.test(word) && i + 1 < words.length) word += words[++i];
    const match = HEREDOC.exec(word);
    if (!match || match[3] === '') continue;
    const raw = match[3]!;
    // A quoted delimiter (any part of it) turns expansion off, as in sh (reference,
    // "Here-Documents": `<<"EOF"` keeps `$` literal).
    const quoted = /["']/.test(raw);
    const heredoc: Heredoc = {
      name: raw.replace(/["']/g, ''),
      content: '',
      expand: !quoted,
      chomp: match[2] === '-',
    };
    if (match[1]) heredoc.fd = Number(match[1]);
    heredocs.push(heredoc);
  }
  return heredocs;
}

/** Reads the body after line `i` up to its delimiter; returns the delimiter's index. */
function readHeredoc(
  lines: string[],
  i: number,
  heredoc: Heredoc,
  at: { file: string; startLine: number },
): number {
  const body: string[] = [];
  for (let j = i + 1; j < lines.length; j++) {
    const line = lines[j]!;
    const candidate = heredoc.chomp ? line.replace(/^\t+/, '') : line;
    if (candidate === heredoc.name) {
      heredoc.content = body.map((l) => `${l}\n`).join('');
      return j;
    }
    body.push(candidate);
  }
  throw new DockerfileError(at.file, at.startLine, `unterminated heredoc \`${heredoc.name}\``, {
    endLine: lines.length,
  });
}
