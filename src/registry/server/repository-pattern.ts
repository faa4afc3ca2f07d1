/**
 * Repository patterns of the access file (`--access`): globs over repository names, where `*`
 * stands for any run of characters within one path segment and `**` for any run across
 * segments (slashes included). So `team/*` matches `team/app` but not `team/app/db`,
 * `team/**` matches both, and `**` matches every repository. Anything else matches itself.
 */

/** A pattern may hold what a repository name may, plus the wildcards. */
const PATTERN_CHARS = /^[a-z0-9._\-/*]+$/;

export class RepositoryPattern {
  readonly source: string;
  readonly #regex: RegExp;

  private constructor(source: string, regex: RegExp) {
    this.source = source;
    this.#regex = regex;
  }

  /** The pattern, or what is wrong with it (a short phrase for the access file's error line). */
  static parse(source: string): RepositoryPattern | { problem: string } {
    if (source === '') return { problem: 'is empty' };
    if (!PATTERN_CHARS.test(source))
      return { problem: 'may hold only a-z, 0-9, `.`, `_`, `-`, `/` and the wildcards `*` and `**`' };
    if (source.includes('***')) return { problem: 'has `***`: use `*` (one segment) or `**` (any depth)' };
    if (source.startsWith('/') || source.endsWith('/') || source.includes('//'))
      return { problem: 'has an empty path segment' };
    // `**` first, so that its two stars are not read as two single-segment wildcards.
    const body = source
      .split('**')
      .map((part) =>
        part
          .split('*')
          .map((literal) => literal.replaceAll('.', '\\.'))
          .join('[^/]*'),
      )
      .join('.*');
    return new RepositoryPattern(source, new RegExp(`^${body}$`));
  }

  matches(repository: string): boolean {
    return this.#regex.test(repository);
  }
}
