/**
 * `.dockerignore`: which paths of a build context are left out.
 *
 * The rules are Docker's (docs.docker.com, "Build context" → ".dockerignore files"), and the
 * matching is that of moby/patternmatcher, which both the classic builder and BuildKit use:
 * - a line starting with `#` in column 1 is a comment; blank lines are skipped;
 * - a line is trimmed, then cleaned like Go's `filepath.Clean`; a leading `/` is dropped, so
 *   `/foo/bar` and `foo/bar` are the same pattern;
 * - `*` and `?` never cross a `/`; `**` matches any number of directories, zero included;
 * - a pattern that matches a directory excludes everything below it;
 * - `!` makes an exception, and the last pattern that matches a path decides.
 */

import { InvalidArgument } from '../../util/errors.js';

/** Go's `filepath.Clean` for `/`-separated paths: drops `.`, folds `..`, joins slashes. */
export function cleanPath(p: string): string {
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/**
 * The lines of a `.dockerignore` as Docker reads them (moby ignorefile.ReadAll): a UTF-8 BOM
 * on the first line is dropped, the `#` test happens before trimming, and `!` survives the
 * cleaning. Returns patterns in file order, exceptions still prefixed with `!`.
 */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? '!' + pattern : pattern);
  }
  return patterns;
}

/**
 * How a pattern is tested. patternmatcher picks the cheapest form, and the forms are not all
 * equivalent to the regexp (a leading `**` followed by literal text is a plain suffix test, so
 * `**foo` matches `xfoo`); they are kept so that skiff excludes exactly what Docker does.
 */
type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

const REGEXP_SPECIAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^']);

class Pattern {
  readonly text: string;
  readonly exclusion: boolean;
  readonly segments: string[];
  #type: MatchType = 'exact';
  #regexp: RegExp | undefined;

  constructor(text: string, exclusion: boolean) {
    this.text = text;
    this.exclusion = exclusion;
    this.segments = text.split('/');
    this.#compile();
  }

  /** patternmatcher's compile: a character-by-character translation into a regexp. */
  #compile(): void {
    const p = this.text;
    let re = '^';
    let inClass = false;
    for (let i = 0; i < p.length; i++) {
      const ch = p[i]!;
      if (ch === '*' && !inClass) {
        if (p[i + 1] === '*') {
          i++;
          if (p[i + 1] === '/') i++;
          if (i + 1 >= p.length) {
            if (this.#type === 'exact') this.#type = 'prefix';
            else {
              re += '.*';
              this.#type = 'regexp';
            }
          } else {
            re += '(.*/)?';
            this.#type = 'regexp';
          }
          // A leading `**` turns the whole pattern into a suffix test (unless a later
          // wildcard makes it a regexp again).
          if (i <= 2 && p.startsWith('**')) this.#type = 'suffix';
        } else {
          re += '[^/]*';
          this.#type = 'regexp';
        }
      } else if (ch === '?' && !inClass) {
        re += '[^/]';
        this.#type = 'regexp';
      } else if (ch === '\\') {
        if (i + 1 < p.length) {
          re += '\\' + p[++i];
          this.#type = 'regexp';
        } else re += '\\\\';
      } else if (ch === '[' && !inClass) {
        inClass = true;
        re += '[';
        if (p[i + 1] === '^') re += p[++i];
        this.#type = 'regexp';
      } else if (ch === ']' && inClass) {
        inClass = false;
        re += ']';
      } else if (REGEXP_SPECIAL.has(ch) || ch === '[' || ch === ']' || ch === '/') {
        re += ch === '/' ? '/' : '\\' + ch;
      } else {
        re += ch;
      }
    }
    if (this.#type === 'regexp') this.#regexp = new RegExp(re + '$', 's');
  }

  match(path: string): boolean {
    switch (this.#type) {
      case 'exact':
        return path === this.text;
      case 'prefix':
        return path.startsWith(this.text.slice(0, -2));
      case 'suffix': {
        const suffix = this.text.slice(2);
        if (path.endsWith(suffix)) return true;
        return suffix.startsWith('/') && path === suffix.slice(1);
      }
      case 'regexp':
        return this.#regexp!.test(path);
    }
  }
}

/** Go's `filepath.Match` grammar: what makes it return ErrBadPattern. */
function patternProblem(p: string): string | undefined {
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '\\') {
      if (i + 1 >= p.length) return 'trailing backslash';
      i++;
    } else if (ch === '[') {
      let j = i + 1;
      if (p[j] === '^') j++;
      if (p[j] === ']') return 'empty character class';
      let closed = false;
      for (; j < p.length; j++) {
        if (p[j] === '\\') j++;
        else if (p[j] === ']') {
          closed = true;
          break;
        } else if (p[j] === '-' && (p[j + 1] === ']' || p[j + 1] === undefined)) return 'range without end';
      }
      if (!closed) return 'unterminated character class';
      i = j;
    }
  }
  return undefined;
}

/** The compiled pattern list: `matches` answers "is this path left out of the context?". */
export class PatternMatcher {
  readonly #patterns: Pattern[] = [];

  /** `patterns` as parseDockerignore returns them; `source` names them in errors. */
  constructor(patterns: readonly string[], options: { source?: string } = {}) {
    const source = options.source ?? '.dockerignore';
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw new InvalidArgument(`parse \`${source}\`: illegal exclusion pattern "!"`);
        exclusion = true;
        p = p.slice(1);
      }
      const problem = patternProblem(p);
      if (problem !== undefined)
        throw new InvalidArgument(`parse \`${source}\`: bad pattern \`${raw}\`: ${problem}`);
      this.#patterns.push(new Pattern(p, exclusion));
    }
  }

  get hasExclusions(): boolean {
    return this.#patterns.some((p) => p.exclusion);
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /**
   * patternmatcher's MatchesOrParentMatches: a pattern matches a path when it matches the
   * path or one of its parent directories; the last matching pattern wins.
   */
  matches(path: string): boolean {
    const file = cleanPath(path);
    const slash = file.lastIndexOf('/');
    const parents = slash < 0 ? [] : file.slice(0, slash).split('/');
    let matched = false;
    for (const pattern of this.#patterns) {
      // An inclusion cannot change an already-excluded path, nor an exception a kept one.
      if (pattern.exclusion !== matched) continue;
      let match = pattern.match(file);
      for (let i = 1; !match && i <= parents.length; i++)
        match = pattern.match(parents.slice(0, i).join('/'));
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * Whether an exception could re-include something below the excluded directory `dir`, so
   * the walk must still descend into it (Docker's docs: "a subdirectory can be re-added even
   * if a parent directory has been ignored"). Conservative: `**` anywhere means yes.
   */
  mayIncludeUnder(dir: string): boolean {
    const dirSegments = cleanPath(dir).split('/');
    return this.#patterns.some((pattern) => {
      if (!pattern.exclusion) return false;
      for (let i = 0; i < dirSegments.length; i++) {
        const seg = pattern.segments[i];
        if (seg === undefined || seg.includes('**')) return true;
        if (!new Pattern(seg, false).match(dirSegments[i]!)) return false;
      }
      return true;
    });
  }
}
