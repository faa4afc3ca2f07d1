/**
 * A string `command:` or `entrypoint:` becomes words the way Compose 1.x splits it: Python's
 * `shlex.split` in POSIX mode. No shell runs and nothing is expanded: quotes group, a
 * backslash outside quotes escapes any character, inside double quotes only `"` and `\`, and
 * `#` is an ordinary character (shlex.split turns comments off).
 */
import { InvalidArgument } from '../util/errors.js';

export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word = (word ?? '') + c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) word = (word ?? '') + text[++i]!;
      else word = (word ?? '') + c;
      continue;
    }
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw new InvalidArgument(`split \`${text}\`: no character after \\`);
      word = (word ?? '') + text[++i];
    } else word = (word ?? '') + c;
  }
  if (quote) throw new InvalidArgument(`split \`${text}\`: no closing quotation`);
  if (word !== undefined) words.push(word);
  return words;
}
