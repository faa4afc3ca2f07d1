/**
 * Writes entries the project made itself (a COPY step's files) straight into a layer
 * directory, while handing every byte of the tar they would make to `onBytes` (for the diff
 * ID) and the recorder (for tar-split): the same layer as `writeTar` piped into
 * `applyLayer`, without encoding a tar only to parse it again — for a 50 MB COPY that
 * round trip cost more than the writes. Only what COPY makes is accepted: directories (each
 * before what is in it), regular files, symlinks and hard links to files written before, with
 * clean relative names; anything else is an error, never a write outside the root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataLoss, InvalidArgument } from '../util/errors.js';
import { writeEntryFile, type LayerRecorder } from './apply-layer.js';
import { END_OF_ARCHIVE, encodeHeader, paddingFor, type TarEntry } from './tar-header.js';
import type { WriteEntry } from './tar-writer.js';

/** Files from this size on are copied by the kernel (copy_file_range) while being hashed. */
const KERNEL_COPY = 1 << 20;

/** An entry, and for a file the path its body comes from, when it is one on this host. */
export type LayEntry = WriteEntry & { source?: string };

export async function layEntries(
  entries: Iterable<LayEntry> | AsyncIterable<LayEntry>,
  root: string,
  options: { onBytes: (bytes: Buffer) => void; recorder?: LayerRecorder; signal?: AbortSignal },
): Promise<{ entries: number }> {
  const { onBytes, recorder, signal } = options;
  const emit = (bytes: Buffer): void => {
    onBytes(bytes);
    recorder?.raw(bytes);
  };
  const made = new Map<string, TarEntry['type']>([['', 'dir']]);
  const directories: [string, TarEntry][] = [];
  let padding: Buffer = Buffer.alloc(0);
  let count = 0;
  for await (const { entry, body, source } of entries) {
    signal?.throwIfAborted();
    const rel = cleanName(entry.name);
    const parent = path.posix.dirname(rel);
    if (made.get(parent === '.' ? '' : parent) !== 'dir') {
      throw new InvalidArgument(`lay entries: \`${entry.name}\` comes before its directory`);
    }
    if (made.has(rel)) throw new InvalidArgument(`lay entries: \`${entry.name}\` given twice`);
    emit(Buffer.concat([padding, encodeHeader(entry)]));
    const abs = path.join(root, rel);
    switch (entry.type) {
      case 'dir':
        fs.mkdirSync(abs, { mode: 0o700 });
        directories.push([abs, entry]);
        break;
      case 'file':
        recorder?.file(rel, entry.size);
        if (source !== undefined && entry.size >= KERNEL_COPY) await copyFile(abs, entry, source, onBytes);
        else await writeFile(abs, entry, body, onBytes, signal);
        break;
      case 'symlink':
        fs.symlinkSync(entry.linkname ?? '', abs);
        fs.lchownSync(abs, entry.uid, entry.gid);
        fs.lutimesSync(abs, entry.mtime, entry.mtime);
        break;
      case 'hardlink': {
        const target = cleanName(entry.linkname ?? '');
        if (made.get(target) !== 'file') {
          throw new InvalidArgument(`lay entries: hard link \`${entry.name}\` to a file not written before`);
        }
        fs.linkSync(path.join(root, target), abs);
        break;
      }
      default:
        throw new InvalidArgument(
          `lay entries: \`${entry.name}\`: a ${entry.type} is not for a copied layer`,
        );
    }
    made.set(rel, entry.type === 'hardlink' ? 'file' : entry.type);
    padding = paddingFor(entry.type === 'file' ? entry.size : 0);
    count++;
  }
  emit(Buffer.concat([padding, END_OF_ARCHIVE]));
  // Directory metadata last, deepest first: making what is inside changed their mtimes.
  for (const [abs, entry] of directories.reverse()) {
    fs.lchownSync(abs, entry.uid, entry.gid);
    fs.chmodSync(abs, entry.mode);
    fs.lutimesSync(abs, entry.mtime, entry.mtime);
  }
  return { entries: count };
}

/** A file from its body, which must give exactly the entry's size (a source that changed gives another). */
function writeFile(
  abs: string,
  entry: TarEntry,
  body: WriteEntry['body'],
  onBytes: (bytes: Buffer) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  async function* checked(): AsyncGenerator<Buffer> {
    let written = 0;
    if (body !== undefined) {
      for await (const chunk of Buffer.isBuffer(body) ? [body] : body) {
        signal?.throwIfAborted();
        written += chunk.length;
        if (written > entry.size) break;
        onBytes(chunk);
        yield chunk;
      }
    }
    if (written !== entry.size) {
      const cause = written > entry.size ? `more than ${entry.size}` : `${written} of ${entry.size}`;
      throw new DataLoss(
        `lay entries: \`${entry.name}\`: the source gave ${cause} bytes (it changed while read)`,
      );
    }
  }
  return writeEntryFile(abs, entry, checked());
}

/**
 * A big file: the kernel copies it (no trip through this process) while the source is read
 * once more for the hash, on the other core. A source that changed meanwhile is an error.
 */
async function copyFile(
  abs: string,
  entry: TarEntry,
  source: string,
  onBytes: (bytes: Buffer) => void,
): Promise<void> {
  const before = fs.statSync(source);
  let hashed = 0;
  const hash = (async () => {
    for await (const chunk of fs.createReadStream(source, {
      highWaterMark: 1 << 20,
    }) as AsyncIterable<Buffer>) {
      hashed += chunk.length;
      if (hashed <= entry.size) onBytes(chunk);
    }
  })();
  await Promise.all([fs.promises.copyFile(source, abs, fs.constants.COPYFILE_EXCL), hash]);
  const after = fs.statSync(source);
  if (
    hashed !== entry.size ||
    after.size !== entry.size ||
    after.mtimeMs !== before.mtimeMs ||
    after.ctimeMs !== before.ctimeMs
  ) {
    throw new DataLoss(`lay entries: \`${entry.name}\`: the source changed while it was copied`);
  }
  fs.chownSync(abs, entry.uid, entry.gid);
  fs.chmodSync(abs, entry.mode);
  fs.utimesSync(abs, entry.mtime, entry.mtime);
}

/** `a/b/` → `a/b`; refuses empty, absolute, `.` and `..` parts. */
function cleanName(name: string): string {
  const rel = name.replace(/\/+$/, '');
  if (rel === '' || rel.startsWith('/') || rel.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new InvalidArgument(`lay entries: \`${name}\` is not a clean relative name`);
  }
  return rel;
}
