/**
 * Which context paths a COPY or ADD takes and where each lands in the image, decided over
 * the walked context alone (no file is touched). The rules are the Dockerfile reference's
 * (docs.docker.com, "COPY"), as BuildKit applies them:
 * - wildcards follow Go's `filepath.Match`, one path segment at a time;
 * - a source directory copies its contents, not itself;
 * - a file goes to `<dest>/<name>` when dest ends in `/`, else to dest itself;
 * - several sources, by name or by wildcard, need a dest directory ending in `/`;
 * - absolute sources are relative to the context root; nothing may leave the context;
 * - `--parents` keeps each source's path below dest (after a `/./` pivot when present);
 * - `--exclude` drops paths, with `.dockerignore`'s matching.
 */

import path from 'node:path';
import { InvalidArgument, NotFound } from '../../util/errors.js';
import { PatternMatcher, cleanPath } from './dockerignore.js';
import type { ContextEntry, EntryType } from './walk.js';

export type PlanInput = Pick<ContextEntry, 'path' | 'type' | 'linkTarget'>;

export interface CopyRequest {
  /** How errors name the instruction, e.g. "COPY" or "ADD (line 7)". */
  instruction: string;
  sources: readonly string[];
  dest: string;
  /** The stage's WORKDIR, which a relative dest is joined to; `/` by default. */
  workdir?: string;
  parents?: boolean;
  exclude?: readonly string[];
}

export interface CopyPlanEntry {
  /** Context-relative; `.` is the context root. */
  from: string;
  /** Absolute path in the image. */
  to: string;
  type: EntryType;
}

/** Symlink hops before a source is declared a loop, as Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;

/**
 * BuildKit's containsWildcards: an unescaped `*`, `?` or `[`. A source without one is taken
 * literally, backslashes included, so `\[` only escapes inside a wildcard source.
 */
function hasWildcard(s: string): boolean {
  return /[*?[]/.test(s.replace(/\\./g, ''));
}

const segmentRegexps = new Map<string, RegExp>();

/** Go's `filepath.Match` for one segment: `*` and `?` never match `/`, `\` escapes. */
function matchSegment(pattern: string, name: string): boolean {
  let re = segmentRegexps.get(pattern);
  if (re === undefined) {
    let src = '^';
    for (let i = 0; i < pattern.length; i++) {
      const ch = pattern[i]!;
      if (ch === '*') src += '[^/]*';
      else if (ch === '?') src += '[^/]';
      else if (ch === '\\' && i + 1 < pattern.length) src += '\\' + pattern[++i];
      else if (ch === '[') {
        const end = pattern.indexOf(']', i + 2);
        if (end < 0) throw new InvalidArgument(`match \`${pattern}\`: unterminated character class`);
        src += '[' + pattern.slice(i + 1, end) + ']';
        i = end;
      } else src += ch.replace(/[.+()|{}$^\]]/g, '\\$&');
    }
    re = new RegExp(src + '$', 's');
    segmentRegexps.set(pattern, re);
  }
  return re.test(name);
}

class Context {
  readonly byPath = new Map<string, PlanInput>();
  readonly entries: readonly PlanInput[];

  constructor(entries: readonly PlanInput[]) {
    this.entries = entries;
    for (const e of entries) this.byPath.set(e.path, e);
  }

  get(rel: string): PlanInput | undefined {
    if (rel === '.') return { path: '.', type: 'dir' };
    return this.byPath.get(rel);
  }

  /**
   * Follows a source that is a symlink, the context root acting as `/` (BuildKit resolves
   * COPY sources inside the context the same way, so a link cannot lead out of it).
   */
  resolve(rel: string, source: string, instruction: string): PlanInput | undefined {
    let entry = this.get(rel);
    for (let hops = 0; entry?.type === 'symlink'; hops++) {
      if (hops >= MAX_LINKS)
        throw new InvalidArgument(`${instruction} \`${source}\`: too many levels of symbolic links`);
      const target = entry.linkTarget ?? '';
      const joined = target.startsWith('/')
        ? target
        : path.posix.join(path.posix.dirname('/' + entry.path), target);
      entry = this.get(relative(cleanPath('/' + joined)));
    }
    return entry;
  }

  under(dir: string): PlanInput[] {
    if (dir === '.') return this.entries.filter((e) => e.path !== '.');
    const prefix = dir + '/';
    return this.entries.filter((e) => e.path.startsWith(prefix));
  }

  /** The paths whose segments match the wildcard source's segments one for one, in walk order. */
  glob(rel: string): PlanInput[] {
    const segments = rel.split('/');
    return this.entries.filter((e) => {
      const parts = e.path.split('/');
      return parts.length === segments.length && parts.every((p, i) => matchSegment(segments[i]!, p));
    });
  }
}

/** `/a/b` → `a/b`, `/` → `.`. */
function relative(absolute: string): string {
  return absolute === '/' ? '.' : absolute.slice(1);
}

/** A context path for a source as written; `../x` is refused rather than clamped. */
function sourcePath(source: string, instruction: string): string {
  const cleaned = cleanPath(source);
  if (cleaned === '..' || cleaned.startsWith('../')) {
    throw new InvalidArgument(`${instruction} \`${source}\`: source is outside the build context`);
  }
  return relative(cleanPath('/' + cleaned));
}

/** For `--parents`: the part of the source kept under dest (after `/./` when present). */
function keptPath(source: string, matched: string): string {
  const pivot = source.indexOf('/./');
  if (pivot < 0) return matched;
  const dropSegments = sourcePath(source.slice(0, pivot), '')
    .split('/')
    .filter((s) => s !== '.').length;
  return matched.split('/').slice(dropSegments).join('/') || '.';
}

/** A destination written as a directory: ending in `/`, or `.` / `..`. */
export function destIsDirectory(dest: string): boolean {
  return /(^|\/)\.{0,2}$/.test(dest) || dest.endsWith('/');
}

/** The error for several sources copied to a destination not written as a directory. */
export function notADirectory(instruction: string, dest: string): InvalidArgument {
  return new InvalidArgument(
    `${instruction} to \`${dest}\`: with more than one source the destination must be a directory ending in /`,
  );
}

export function planCopy(context: readonly PlanInput[], request: CopyRequest): CopyPlanEntry[] {
  const { instruction, sources } = request;
  if (sources.length === 0) throw new InvalidArgument(`${instruction}: no source given`);
  const ctx = new Context(context);
  const joinedDest = request.dest.startsWith('/')
    ? request.dest
    : path.posix.join(request.workdir ?? '/', request.dest);
  const destIsDir = request.parents === true || destIsDirectory(request.dest);
  const dest = path.posix
    .normalize(joinedDest.startsWith('/') ? joinedDest : '/' + joinedDest)
    .replace(/(.)\/$/, '$1');
  const mustBeDir = (): void => {
    if (!destIsDir) throw notADirectory(instruction, request.dest);
  };
  if (sources.length > 1) mustBeDir();
  const exclude = request.exclude?.length
    ? new PatternMatcher(request.exclude, { source: '--exclude' })
    : undefined;
  const excluded = (relToDest: string): boolean => exclude !== undefined && exclude.matches(relToDest);
  const under = (rel: string): string => (rel === '.' ? dest : path.posix.join(dest, rel));

  const plan: CopyPlanEntry[] = [];
  for (const source of sources) {
    const rel = sourcePath(source, instruction);
    let matches: { entry: PlanInput; name: string; kept: string }[];
    if (hasWildcard(rel)) {
      matches = ctx.glob(rel).map((e) => ({
        entry: ctx.resolve(e.path, source, instruction) ?? e,
        name: path.posix.basename(e.path),
        kept: keptPath(source, e.path),
      }));
      if (matches.length === 0)
        throw new NotFound(`${instruction} \`${source}\`: no file in the build context matches`);
      if (matches.length > 1) mustBeDir();
    } else {
      const entry = ctx.resolve(rel, source, instruction);
      if (entry === undefined)
        throw new NotFound(`${instruction} \`${source}\`: not found in the build context`);
      matches = [{ entry, name: path.posix.basename(rel), kept: keptPath(source, rel) }];
    }

    for (const { entry, name, kept } of matches) {
      if (entry.type === 'dir') {
        // The directory's contents land in the target; the directory itself becomes it.
        const base = request.parents === true ? kept : '.';
        if (base !== '.' && excluded(base)) continue;
        plan.push({ from: entry.path, to: under(base), type: 'dir' });
        const prefixLength = entry.path === '.' ? 0 : entry.path.length + 1;
        for (const child of ctx.under(entry.path)) {
          const inside = child.path.slice(prefixLength);
          const target = base === '.' ? inside : `${base}/${inside}`;
          if (!excluded(target)) plan.push({ from: child.path, to: under(target), type: child.type });
        }
      } else {
        const target = request.parents === true ? kept : name;
        if (excluded(target)) continue;
        plan.push({ from: entry.path, to: destIsDir ? under(target) : dest, type: entry.type });
      }
    }
  }
  return plan;
}
