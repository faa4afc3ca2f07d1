/**
 * COPY and ADD turned into a step: what is copied (context files, another stage's or image's
 * files, here-documents, and for ADD downloads and archives to extract), where it lands, and
 * the key inputs — the content and metadata of every file, never an mtime. An owner given by
 * name is looked up in the image's /etc/passwd when the step runs, since an earlier RUN of
 * the same stage may have made the user.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { ArchiveCompression } from '../archive/compression.js';
import type { Digest } from '../oci/digest.js';
import { destIsDirectory, notADirectory, planCopy, type CopyPlanEntry } from './context/copy-plan.js';
import type { ChecksumCache } from './context/checksum-cache.js';
import type { ContextEntry } from './context/walk.js';
import { expandHeredoc } from './dockerfile/expand.js';
import { InvalidArgument, SkiffError } from '../util/errors.js';
import type { CopyInstruction } from './dockerfile/instructions/types.js';
import type { Step } from './execute.js';
import type { CopyEntry } from './copy-layer.js';
import { download, tarArchive } from './add-source.js';
import type { StageState } from './stage-state.js';

export interface CopyContext {
  root: string;
  entries: () => Promise<ContextEntry[]>;
  checksums: ChecksumCache;
  /** A directory for this build's downloads and here-documents, removed when it ends. */
  scratch: () => string;
  /** The filesystem of a stage or an image for `COPY --from`, mounted read-only until the build ends. */
  from: (name: string, line: number) => Promise<{ root: string; imageId: Digest; entries: ContextEntry[] }>;
  escape: '\\' | '`';
}

const URL_SOURCE = /^https?:\/\//i;
const GIT_SOURCE = /^(git@|git:\/\/|[a-z]+:\/\/.*\.git(#.*)?$)/i;

export async function copyStep(i: CopyInstruction, state: StageState, context: CopyContext): Promise<Step> {
  const where = `${state.file}:${i.line}`;
  const workdir = state.config.WorkingDir || '/';
  const destDir = path.posix.resolve(workdir, i.dest);
  const destIsDir = destIsDirectory(i.dest);
  const owner = state.owner(i.chown, i.line);
  const urls = i.kind === 'ADD' ? i.sources.filter((s) => URL_SOURCE.test(s) || GIT_SOURCE.test(s)) : [];
  const local = i.sources.filter((s) => !urls.includes(s));
  if (i.sources.length + i.heredocs.length > 1 && !destIsDir)
    throw notADirectory(`${where}: ${i.kind}`, i.dest);

  const plan: CopyEntry[] = [];
  const inputs: string[] = [];
  const files = new Map<string, string>();

  if (local.length > 0) {
    const from = i.from === undefined ? undefined : await context.from(i.from, i.line);
    const entries = from ? from.entries : await context.entries();
    const planned = planCopy(entries, {
      instruction: `${where}: ${i.kind}`,
      sources: local,
      dest: i.dest,
      workdir,
      parents: i.parents,
      exclude: i.exclude,
    });
    const base = from ? from.root : context.root;
    // What a --from copy reads is fixed by the image: a new one is what `--explain-cache` names.
    if (from) files.set(`the image of --from=${i.from}`, from.imageId.slice(7, 23));
    // An image's files are fixed by its ID: no need to read them for the key.
    const byPath = new Map(entries.map((e) => [e.path, e]));
    inputs.push(
      from
        ? `${from.imageId} ${createHash('sha256').update(JSON.stringify(planned)).digest('hex')}`
        : await context.checksums.checksum(
            planned.map((p) => byPath.get(p.from) ?? p.from),
            { uid: owner?.uid, gid: owner?.gid, chmod: i.chmod, perFile: files },
          ),
    );
    const tops = topLevel(planned);
    const archives =
      i.kind === 'ADD' && !from ? await extracted(planned, tops, base) : new Map<string, never>();
    for (const p of planned) {
      const source = path.join(base, p.from);
      const compression = archives.get(p.from);
      if (compression) {
        plan.push({ archive: source, compression, dest: destDir });
        continue;
      }
      const top = tops.has(p.from);
      plan.push({
        source,
        dest: p.to,
        // Files from a stage or an image keep their owners, as BuildKit has it; a directory
        // given as the source is the destination, made anew.
        ...(from && !(top && p.type === 'dir') ? { keepOwner: true } : {}),
        // --chmod reaches the directories inside what is copied, not the destination itself.
        ...(i.chmod !== undefined && p.type === 'dir' && !top ? { mode: i.chmod } : {}),
        // `COPY a.txt /etc`: /etc is a directory in the image, so the file goes in it.
        ...(top && !destIsDir && p.type !== 'dir' ? { orInto: path.posix.basename(p.from) } : {}),
      });
    }
    if (archives.size > 0) inputs.push(`extract ${[...archives.keys()].join(' ')}`);
  }

  for (const h of i.heredocs) {
    const content = h.expand
      ? heredocText(where, h.name, () => expandHeredoc(h.content, state.scope(), { escape: context.escape }))
      : h.content;
    const digest = createHash('sha256').update(content).digest('hex');
    const file = path.join(context.scratch(), `heredoc-${digest}`);
    fs.writeFileSync(file, content, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    fs.utimesSync(file, 0, 0);
    plan.push({ source: file, dest: destIsDir ? path.posix.join(destDir, h.name) : destDir, mtime: 0 });
    inputs.push(`heredoc ${h.name} ${digest}`);
  }

  for (const url of urls) {
    if (GIT_SOURCE.test(url))
      throw state.error(i.line, `ADD of a git repository (\`${url}\`) is not supported yet`);
    const got = await download(url, context.scratch(), { checksum: i.checksum }).catch((err: Error) => {
      throw state.error(i.line, err.message);
    });
    if (destIsDir && got.name === '') {
      throw state.error(
        i.line,
        `ADD ${url}: cannot tell a file name from the URL; give one as the destination`,
      );
    }
    const dest = destIsDir ? path.posix.join(destDir, got.name) : destDir;
    plan.push({ source: got.file, dest, mode: i.chmod ?? 0o600, mtime: got.mtime ?? 0 });
    inputs.push(`url ${url} ${got.sha256} ${got.mtime ?? 0}`);
    files.set(url, got.sha256.slice(0, 16));
  }

  const flags = [
    i.chown ? `--chown=${i.chown}` : '',
    i.chmod !== undefined ? `--chmod=${i.chmod.toString(8)}` : '',
    i.parents ? '--parents' : '',
    i.from !== undefined ? `--from=${i.from}` : '',
    i.checksum !== undefined ? `--checksum=${i.checksum}` : '',
    i.link ? '--link' : '',
    ...i.exclude.map((e) => `--exclude=${e}`),
  ].filter(Boolean);
  const heredocs = i.heredocs.map((h) => `<<${h.name}`);
  return {
    kind: 'copy',
    text: `${i.kind} ${[...flags, ...heredocs, ...i.sources, i.dest].join(' ')}`,
    where,
    plan,
    options: { chown: owner, chmod: i.chmod },
    chown: owner === undefined ? i.chown : undefined,
    inputs: inputs.join(' '),
    files: Object.fromEntries(files),
    link: i.link,
  };
}

/** The planned paths that are sources themselves, not inside a directory that is one. */
function topLevel(planned: CopyPlanEntry[]): Set<string> {
  const dirs = planned.filter((p) => p.type === 'dir').map((p) => (p.from === '.' ? '' : `${p.from}/`));
  return new Set(
    planned
      .filter((p) => !dirs.some((d) => p.from !== '.' && (d === '' || p.from.startsWith(d))))
      .map((p) => p.from),
  );
}

/**
 * The sources ADD extracts: the files it was given (not the files inside a directory it was
 * given) that are tar archives.
 */
async function extracted(
  planned: CopyPlanEntry[],
  tops: Set<string>,
  base: string,
): Promise<Map<string, ArchiveCompression>> {
  const out = new Map<string, ArchiveCompression>();
  for (const p of planned) {
    if (p.type !== 'file' || !tops.has(p.from)) continue;
    const compression = await tarArchive(path.join(base, p.from));
    if (compression !== undefined) out.set(p.from, compression);
  }
  return out;
}

/**
 * A here-document's expanded text. A bad substitution in it is one line naming the Dockerfile
 * line and the here-document, not its (multi-line) text.
 */
function heredocText(where: string, name: string, expand: () => string): string {
  try {
    return expand();
  } catch (err) {
    if (!(err instanceof SkiffError)) throw err;
    const reason = err.message.slice(err.message.lastIndexOf('`: ') + 3);
    throw new InvalidArgument(`${where}: here-document \`${name}\`: ${reason}`, { cause: err });
  }
}
