/**
 * The build context as a list: every path that `.dockerignore` keeps, relative to the context
 * root, with its lstat. Symlinks are listed as links and never followed, so nothing outside
 * the context can be reached through one (BuildKit's fsutil walker does the same).
 */

import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgument, NotFound, errnoCode } from '../../util/errors.js';
import { PatternMatcher, parseDockerignore } from './dockerignore.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface ContextEntry {
  /** Relative to the context root, `/`-separated, never `.` or `..`-prefixed. */
  readonly path: string;
  readonly type: EntryType;
  readonly stat: fs.BigIntStats;
  /** The link's text for a symlink, exactly as stored. */
  readonly linkTarget?: string;
}

export interface WalkOptions {
  /** Patterns to use instead of reading `<root>/.dockerignore`. */
  ignore?: readonly string[];
  signal?: AbortSignal;
}

export const DOCKERIGNORE = '.dockerignore';

function typeOf(stat: fs.BigIntStats): EntryType {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** One line naming the path, as the brief and crun's errors read: "build context `x`: …". */
function contextError(rel: string, err: unknown): Error {
  const code = errnoCode(err);
  const cause =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'ENOENT'
        ? 'no such file or directory'
        : (code ?? String(err));
  return new InvalidArgument(`build context \`${rel}\`: ${cause}`, { cause: err, code: 'BUILD_CONTEXT' });
}

/** The patterns of `<root>/.dockerignore`, or none when it does not exist. */
export function readDockerignore(root: string): string[] {
  try {
    return parseDockerignore(fs.readFileSync(path.join(root, DOCKERIGNORE), 'utf8'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw contextError(DOCKERIGNORE, err);
  }
}

/**
 * Lists the context in walk order (each directory's names sorted, a directory before its
 * contents, as Go's filepath.Walk and so BuildKit's fsutil), which makes checksums over the
 * list deterministic. Synchronous lstat is deliberate: measured on this 2-core
 * VM, 10,000 `fs.promises.lstat` in batches of 512 took ~400 ms against ~60 ms for
 * `lstatSync`, because each async call pays a thread-pool round trip larger than the syscall.
 * The function is still async so that a later, faster reader can slot in.
 */
export async function walkContext(root: string, options: WalkOptions = {}): Promise<ContextEntry[]> {
  let realRoot: string;
  try {
    // Docker resolves a symlinked context directory before walking it.
    realRoot = fs.realpathSync(root);
    if (!fs.statSync(realRoot).isDirectory())
      throw new InvalidArgument(`build context \`${root}\`: not a directory`);
  } catch (err) {
    if (err instanceof InvalidArgument) throw err;
    if (errnoCode(err) === 'ENOENT')
      throw new NotFound(`build context \`${root}\`: no such directory`, { cause: err });
    throw contextError(root, err);
  }
  const matcher = new PatternMatcher(options.ignore ?? readDockerignore(realRoot));
  // The Dockerfile and .dockerignore obey it too: COPY and ADD never copy an excluded one
  // (reference, ".dockerignore file"); the Dockerfile is read apart from the walk.

  // root passes every permission check, and the access() call costs as much as the lstat
  // (~35 ms per 10,000 files here); a file root still cannot read fails when it is hashed.
  const checkReadable = process.getuid?.() !== 0;
  const out: ContextEntry[] = [];
  // A directory that is excluded but walked for an exception is listed only once something
  // below it is kept, as fsutil emits parents lazily.
  const pending: ContextEntry[] = [];

  const visit = (dirRel: string): void => {
    options.signal?.throwIfAborted();
    const dirAbs = dirRel === '' ? realRoot : path.join(realRoot, dirRel);
    let names: string[];
    try {
      names = fs.readdirSync(dirAbs);
    } catch (err) {
      throw contextError(dirRel === '' ? '.' : dirRel, err);
    }
    names.sort();
    for (const name of names) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const abs = path.join(dirAbs, name);
      let stat: fs.BigIntStats;
      try {
        stat = fs.lstatSync(abs, { bigint: true });
      } catch (err) {
        throw contextError(rel, err);
      }
      const type = typeOf(stat);
      const excluded = !matcher.empty && matcher.matches(rel);
      if (excluded) {
        if (type === 'dir' && matcher.mayIncludeUnder(rel)) {
          const entry: ContextEntry = { path: rel, type, stat };
          pending.push(entry);
          visit(rel);
          if (pending[pending.length - 1] === entry) pending.pop();
        }
        continue;
      }
      for (const parent of pending) out.push(parent);
      pending.length = 0;
      let entry: ContextEntry = { path: rel, type, stat };
      if (type === 'symlink') {
        try {
          entry = { ...entry, linkTarget: fs.readlinkSync(abs) };
        } catch (err) {
          throw contextError(rel, err);
        }
      } else if (type === 'file' && checkReadable) {
        // The classic builder refuses a context with an unreadable file up front
        // (ValidateContextDirectory); finding it here beats failing mid-build.
        try {
          fs.accessSync(abs, fs.constants.R_OK);
        } catch (err) {
          throw contextError(rel, err);
        }
      }
      out.push(entry);
      if (type === 'dir') visit(rel);
    }
  };
  visit('');
  return out;
}
