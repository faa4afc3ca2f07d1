/**
 * Raw word splitting, before any expansion: the instruction flags at the start of a line and
 * the quote-aware words of ENV, ARG and LABEL. Quotes and escapes are kept in the words; the
 * lexer in expand.ts removes them later, when it expands the word with the build's variables.
 * Both follow BuildKit's `extractBuilderFlags` and `parseWords` (frontend/dockerfile/parser).
 */
import type { Flag } from './node.js';

const isSpace = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';

/**
 * Reads leading `--flag[=value]` words; stops at the first word not starting with `--` or after
 * a bare `--`. Quotes inside a flag group spaces (`--mount="type=cache,target=/a b"`), and `\`
 * escapes the next character, whatever the escape directive says, as in BuildKit.
 */
export function extractFlags(line: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < line.length && isSpace(line[pos]!)) pos++;
    if (!line.startsWith('--', pos)) return { flags, rest: line.slice(pos) };
    let word = '';
    let quoted = false;
    let quote = '';
    for (; pos < line.length; pos++) {
      const ch = line[pos]!;
      if (quote) {
        if (ch === quote) quote = '';
        else if (ch === '\\' && pos + 1 < line.length) word += line[++pos];
        else if (ch !== '\\') word += ch;
        continue;
      }
      if (isSpace(ch)) break;
      if (ch === '"' || ch === "'") {
        quote = ch;
        quoted = true;
      } else if (ch === '\\') {
        if (pos + 1 < line.length) word += line[++pos];
      } else {
        word += ch;
      }
    }
    if (word === '--' && !quoted) return { flags, rest: line.slice(pos).replace(/^\s+/, '') };
    flags.push(word);
  }
}

/** `--name=value` → {name, value}; `--name` → {name}. */
export function splitFlag(word: string): Flag {
  const body = word.slice(2);
  const eq = body.indexOf('=');
  return eq < 0 ? { name: body } : { name: body.slice(0, eq), value: body.slice(eq + 1) };
}

/**
 * Splits on unquoted whitespace and keeps quotes and escapes as written. Inside single
 * quotes the escape character is literal, as in a POSIX shell.
 */
export function splitRawWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  for (let pos = 0; pos < text.length; pos++) {
    let ch = text[pos]!;
    if (!quote && isSpace(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (quote) {
      if (ch === quote) quote = '';
      else if (ch === escape && quote !== "'" && pos + 1 < text.length) {
        word += ch;
        ch = text[++pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === escape) {
      if (pos + 1 === text.length) continue;
      word += ch;
      ch = text[++pos]!;
    }
    word += ch;
  }
  if (inWord) words.push(word);
  return words;
}

/** Plain whitespace split, for COPY/ADD/VOLUME shell forms: Docker ignores quotes there. */
export function splitWhitespace(text: string): string[] {
  return text.split(/[ \t\r\n]+/).filter((w) => w !== '');
}
