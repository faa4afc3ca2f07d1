/**
 * The word lexer: quote removal and variable expansion as BuildKit's shell lexer
 * (frontend/dockerfile/shell/lex.go) does it, which is the subset of POSIX sh the Dockerfile
 * reference lists under "Environment replacement": `$v`, `${v}`, `${v:-w}`, `${v-w}`,
 * `${v:+w}`, `${v+w}`, `${v:?w}`, `${v?w}`, `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}`,
 * `${v/p/r}` and `${v//p/r}`. Single quotes are literal; double quotes expand; the escape
 * character escapes anything outside quotes and `"`, `$` and itself inside double quotes.
 */
import { InvalidArgument } from '../../util/errors.js';

export type Env = ReadonlyMap<string, string>;

export interface ExpandOptions {
  /** The escape directive's character (reference, "escape"); `\` by default. */
  escape?: '\\' | '`';
}

/** One word in, one string out: quotes removed, variables substituted, no splitting. */
export function expandWord(word: string, env: Env, options: ExpandOptions = {}): string {
  return new Lexer(word, env, options.escape ?? '\\').run(undefined);
}

/**
 * Splits into words the way sh would after expansion: unquoted whitespace separates words,
 * and so does whitespace inside an unquoted variable's value (`EXPOSE $PORTS`).
 */
export function expandWords(text: string, env: Env, options: ExpandOptions = {}): string[] {
  const words = new Words();
  new Lexer(text, env, options.escape ?? '\\').run(words);
  return words.finish();
}

/**
 * A here-document's content with an unquoted delimiter (`COPY <<EOF`): variables substituted,
 * quotes and backslashes kept as written — but `\$`, which stays a literal `$`.
 */
export function expandHeredoc(content: string, env: Env, options: ExpandOptions = {}): string {
  return new Lexer(content, env, options.escape ?? '\\').heredoc();
}

/** Raised for a malformed substitution; the instruction layer adds the Dockerfile line. */
export class ExpandError extends InvalidArgument {
  constructor(word: string, cause: string) {
    super(`expand \`${word}\`: ${cause}`, { code: 'DOCKERFILE_EXPAND' });
  }
}

/** BuildKit's word accumulator: empty words are never emitted, even `""` (unlike sh). */
class Words {
  private words: string[] = [];
  private word = '';

  char(ch: string): void {
    if (/\s/.test(ch)) this.flush();
    else this.word += ch;
  }

  /** Quoted or escaped text: whitespace in it does not split. */
  raw(text: string): void {
    this.word += text;
  }

  split(text: string): void {
    for (const ch of text) this.char(ch);
  }

  finish(): string[] {
    this.flush();
    return this.words;
  }

  private flush(): void {
    if (this.word !== '') this.words.push(this.word);
    this.word = '';
  }
}

/**
 * sh's parameter names (POSIX "Parameters and Variables"): a variable name, a positional
 * parameter's digits, or a special parameter (`@ * # ? - $ !`; `0` is among the digits).
 */
const NAME = /^(?:[0-9]+|[A-Za-z_][A-Za-z0-9_]*|[@*#?$!-])/;

class Lexer {
  private pos = 0;

  constructor(
    private readonly input: string,
    private readonly env: Env,
    private readonly escape: string,
  ) {}

  run(words: Words | undefined): string {
    return this.until('', words).value;
  }

  heredoc(): string {
    let value = '';
    while (this.pos < this.input.length) {
      const ch = this.input[this.pos]!;
      if (ch === '$') value += this.dollar();
      else if (ch === this.escape && this.input[this.pos + 1] === '$') {
        value += '$';
        this.pos += 2;
      } else {
        value += ch;
        this.pos++;
      }
    }
    return value;
  }

  private fail(cause: string): never {
    throw new ExpandError(this.input, cause);
  }

  /**
   * Reads up to one of the `stops` characters (consumed) or the end if `stops` is empty. In
   * `pattern` mode (the `#`, `%` and `/` operands) quoted and escaped characters stay literal
   * in the glob, as in sh: `${v#\*}` removes a star, `${v#*}` everything.
   */
  private until(stops: string, words: Words | undefined, pattern = false): { value: string; stop: string } {
    const literal = (text: string): string => (pattern ? text.replace(/[*?[\]\\]/g, '\\$&') : text);
    let value = '';
    while (this.pos < this.input.length) {
      const ch = this.input[this.pos]!;
      if (stops.includes(ch)) {
        this.pos++;
        return { value, stop: ch };
      }
      if (ch === "'") {
        const text = this.singleQuoted();
        value += literal(text);
        words?.raw(text);
      } else if (ch === '"') {
        const text = this.doubleQuoted();
        value += literal(text);
        words?.raw(text);
      } else if (ch === '$') {
        const text = this.dollar();
        value += text;
        words?.split(text);
      } else if (ch === this.escape) {
        this.pos++;
        // An escape at the very end is dropped, as BuildKit does.
        if (this.pos === this.input.length) break;
        const escaped = this.input[this.pos++]!;
        value += literal(escaped);
        words?.raw(escaped);
      } else {
        this.pos++;
        value += ch;
        words?.char(ch);
      }
    }
    if (stops !== '') this.fail(`unexpected end of statement while looking for matching \`${stops[0]}\``);
    return { value, stop: '' };
  }

  private singleQuoted(): string {
    const end = this.input.indexOf("'", this.pos + 1);
    if (end < 0) this.fail('unexpected end of statement while looking for matching single-quote');
    const text = this.input.slice(this.pos + 1, end);
    this.pos = end + 1;
    return text;
  }

  private doubleQuoted(): string {
    let value = '';
    this.pos++;
    for (;;) {
      if (this.pos >= this.input.length) {
        this.fail('unexpected end of statement while looking for matching double-quote');
      }
      const ch = this.input[this.pos]!;
      if (ch === '"') {
        this.pos++;
        return value;
      }
      if (ch === '$') {
        value += this.dollar();
        continue;
      }
      this.pos++;
      if (ch === this.escape) {
        const next = this.input[this.pos];
        if (next === undefined) continue;
        // Only these may be escaped inside double quotes; otherwise the escape stays.
        if (next === '"' || next === '$' || next === this.escape) {
          value += next;
          this.pos++;
          continue;
        }
      }
      value += ch;
    }
  }

  /**
   * A parameter name after `$` or `${`, as BuildKit's lexer reads one: a variable name, or
   * all the digits of a positional parameter (`$999aaa` is `$999` then `aaa`), or one of the
   * special parameters. A build has no positional or special parameters, so these look up
   * nothing and expand to the empty string (`${@:-x}` gives `x`), unless a variable of that
   * name was set.
   */
  private name(): string {
    const match = NAME.exec(this.input.slice(this.pos));
    const name = match?.[0] ?? '';
    this.pos += name.length;
    return name;
  }

  private dollar(): string {
    this.pos++;
    const ch = this.input[this.pos];
    if (ch === '{') {
      this.pos++;
      return this.braced();
    }
    const name = this.name();
    // `$` before anything that cannot start a name is a literal dollar.
    if (name === '') return '$';
    return this.env.get(name) ?? '';
  }

  private braced(): string {
    // `${}` names nothing: a bad substitution, as in sh and BuildKit, and so are `${.}`,
    // `${:-x}` and any other `${` not followed by a name.
    if (this.pos >= this.input.length) this.fail('missing `}`');
    const name = this.name();
    if (name === '') this.fail('bad substitution');
    const value = this.env.get(name);
    const op = this.input[this.pos];
    if (op === undefined) this.fail('missing `}`');
    this.pos++;
    if (op === '}') return value ?? '';
    if (op === ':') {
      const modifier = this.input[this.pos++];
      const word = this.until('}', undefined).value;
      const empty = value === undefined || value === '';
      if (modifier === '-') return empty ? word : value;
      if (modifier === '+') return empty ? '' : word;
      if (modifier === '?')
        return empty ? this.fail(`${name}: ${word || 'is not allowed to be empty'}`) : value;
      return this.fail(`unsupported modifier (${modifier ?? ''}) in substitution`);
    }
    if (op === '-' || op === '+' || op === '?') {
      const word = this.until('}', undefined).value;
      if (op === '-') return value ?? word;
      if (op === '+') return value === undefined ? '' : word;
      return value ?? this.fail(`${name}: ${word || 'is not allowed to be unset'}`);
    }
    if (op === '#' || op === '%') {
      const longest = this.input[this.pos] === op;
      if (longest) this.pos++;
      const pattern = this.until('}', undefined, true).value;
      return trim(value ?? '', pattern, { suffix: op === '%', longest });
    }
    if (op === '/') {
      const all = this.input[this.pos] === '/';
      if (all) this.pos++;
      const { value: pattern, stop } = this.until('/}', undefined, true);
      const replacement = stop === '/' ? this.until('}', undefined).value : '';
      return replace(value ?? '', pattern, replacement, all);
    }
    return this.fail(`unsupported modifier (${op}) in substitution`);
  }
}

/** A shell glob (`*`, `?`, `[...]`) as an anchored regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length)
      source += pattern[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (ch === '*') source += '[\\s\\S]*';
    else if (ch === '?') source += '[\\s\\S]';
    else if (ch === '[' && pattern.indexOf(']', i + 2) > 0) {
      const end = pattern.indexOf(']', i + 2);
      const body = pattern
        .slice(i + 1, end)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\');
      source += `[${body}]`;
      i = end;
    } else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function trim(value: string, pattern: string, how: { suffix: boolean; longest: boolean }): string {
  const re = globToRegExp(pattern);
  const n = value.length;
  for (let k = 0; k <= n; k++) {
    const len = how.longest ? n - k : k;
    const part = how.suffix ? value.slice(n - len) : value.slice(0, len);
    if (re.test(part)) return how.suffix ? value.slice(0, n - len) : value.slice(len);
  }
  return value;
}

function replace(value: string, pattern: string, replacement: string, all: boolean): string {
  if (pattern === '') return value;
  const re = globToRegExp(pattern);
  let out = '';
  let i = 0;
  while (i < value.length) {
    let matched = -1;
    // The longest match at each position, as sh does.
    for (let end = value.length; end > i; end--) {
      if (re.test(value.slice(i, end))) {
        matched = end;
        break;
      }
    }
    if (matched < 0) {
      out += value[i++];
      continue;
    }
    out += replacement;
    i = matched;
    if (!all) return out + value.slice(i);
  }
  return out;
}
