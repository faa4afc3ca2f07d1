/**
 * Extracts an OCI layer tar into overlayfs form: what the image spec calls whiteouts
 * ("image-spec layer.md: Whiteouts") become what overlayfs reads from a lowerdir (0/0 character
 * devices, `trusted.overlay.opaque=y` on opaque directories).
 *
 * Safety: an archive can never write outside its root. Names are normalised and checked, and
 * every parent of an entry must be a directory this same archive created. That is decided
 * from the `created` map, never by asking the file system, so a symlink the archive made is
 * never written through. Files are opened O_EXCL|O_NOFOLLOW as a second line of defence.
 */
import fs from 'node:fs';
import path from 'node:path';
import { mknod } from '../sys/nodes.js';
import { setXattr } from '../sys/xattr.js';
import { errnoCode, FailedPrecondition, InvalidArgument, SkiffError } from '../util/errors.js';
import type { TarEntry } from './tar-header.js';
import { readTar } from './tar-reader.js';

/** Receives every byte of the archive, as raw bytes or as a reference to a file now on disk. */
export interface LayerRecorder {
  /** Archive bytes not kept as file content: headers, padding, the trailer, bodies of skipped entries. */
  raw(bytes: Buffer): void;
  /** The next `size` bytes of the archive are the content of the regular file `path` (relative to the root). */
  file(path: string, size: number): void;
}

export interface ApplyOptions {
  recorder?: LayerRecorder;
  signal?: AbortSignal;
}

/** What this archive made at a path; 'opaque' marks a directory's `.wh..wh..opq` entry as seen. */
type Kind = 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'whiteout' | 'opaque';

const KIND_NAMES: Record<Kind, string> = {
  dir: 'directory',
  file: 'regular file',
  symlink: 'symlink',
  char: 'character device',
  block: 'block device',
  fifo: 'FIFO',
  whiteout: 'whiteout',
  opaque: 'opaque marker',
};

const WHITEOUT = '.wh.';
/** aufs metadata (`.wh..wh.plnk`, `.wh..wh.aufs`): meaningless to overlayfs, skipped. */
const WHITEOUT_META = '.wh..wh.';
const OPAQUE = '.wh..wh..opq';
/** overlayfs reads these; only whiteout entries may produce them, never an archive's own xattrs. */
const OVERLAY_XATTRS = 'trusted.overlay.';
const CREATE_FILE =
  fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
/** Linux's device numbers: 12 bits of major, 20 of minor (anything more, mknod refuses). */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;

/** Why the file system refuses an xattr, by errno (xattr(7), setxattr(2)). */
const XATTR_REFUSALS: Record<string, string> = {
  E2BIG: 'its value is too large',
  ERANGE: 'its name is too long',
  ENOTSUP: 'the file system does not support its namespace',
  EOPNOTSUPP: 'the file system does not support its namespace',
  ENOSPC: 'no room for it on the file system',
  EDQUOT: 'no room for it on the file system',
  EINVAL: 'the file system refuses its name or value',
  EPERM: 'the file system does not allow it here',
  EACCES: 'the file system does not allow it here',
};

/**
 * Creates the regular file `abs` (never through a symlink, never over anything), writes
 * `chunks` into it, then gives it the entry's owner, mode, what `more` sets (xattrs) and mtime.
 */
export async function writeEntryFile(
  abs: string,
  entry: TarEntry,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  more?: () => void,
): Promise<void> {
  const fd = fs.openSync(abs, CREATE_FILE, 0o600);
  try {
    for await (const chunk of chunks) {
      for (let done = 0; done < chunk.length; ) done += fs.writeSync(fd, chunk, done);
    }
    // chown clears setuid/setgid, so the mode comes after it.
    fs.fchownSync(fd, entry.uid, entry.gid);
    fs.fchmodSync(fd, entry.mode);
    more?.();
    fs.futimesSync(fd, entry.mtime, entry.mtime);
  } finally {
    fs.closeSync(fd);
  }
}

/** A name the layer cannot hold; `outside` when it would leave the root. */
class BadPath extends Error {
  constructor(
    message: string,
    readonly outside = false,
  ) {
    super(message);
  }
}

/**
 * Extracts an uncompressed OCI layer tar into `root` (an existing, empty directory). `entries`
 * counts every entry of the archive, `files` the regular files written (hardlinks excluded).
 * On failure the root is left half-written: the caller removes it.
 */
export async function applyLayer(
  source: AsyncIterable<Buffer>,
  root: string,
  options: ApplyOptions = {},
): Promise<{ entries: number; files: number }> {
  const { recorder, signal } = options;
  if (fs.readdirSync(root).length > 0) {
    throw new FailedPrecondition(`apply layer \`${root}\`: directory is not empty`);
  }
  const layer = new Extraction(root, recorder);
  const reader = readTar(source, { signal });
  let entries = 0;
  for await (const { entry, raw, body } of reader) {
    signal?.throwIfAborted();
    entries++;
    recorder?.raw(raw);
    try {
      await layer.apply(entry, body);
    } catch (err) {
      throw wrap(err, `apply layer: entry \`${printable(entry.name)}\``);
    }
  }
  recorder?.raw(reader.trailer);
  try {
    layer.finishDirectories();
  } catch (err) {
    throw wrap(err, 'apply layer: directory metadata');
  }
  return { entries, files: layer.files };
}

class Extraction {
  /** Everything this archive made, by normalised path ('' is the root). */
  private readonly created = new Map<string, Kind>([['', 'dir']]);
  /** Directory entries whose metadata is set at the end (the last entry for a path wins). */
  private readonly directories = new Map<string, TarEntry>();
  files = 0;

  private readonly root: string;

  constructor(
    root: string,
    private readonly recorder: LayerRecorder | undefined,
  ) {
    this.root = path.resolve(root);
  }

  async apply(entry: TarEntry, body: AsyncIterable<Buffer>): Promise<void> {
    const rel = normalise(entry.name);
    if (rel === '') {
      if (entry.type !== 'dir') throw bad(entry, `the layer root must be a directory, not a ${entry.type}`);
      this.directories.set('', entry);
      return;
    }
    const slash = rel.lastIndexOf('/');
    const base = rel.slice(slash + 1);
    const parent = slash === -1 ? '' : rel.slice(0, slash);
    if (parent.includes(WHITEOUT)) {
      for (const part of parent.split('/')) {
        if (part.startsWith(WHITEOUT_META)) return this.skip(body);
        if (part.startsWith(WHITEOUT)) throw bad(entry, `parent \`${part}\` is a whiteout`);
      }
    }
    if (base === OPAQUE) return this.opaque(entry, rel, parent, body);
    if (base.startsWith(WHITEOUT_META)) return this.skip(body);
    if (base.startsWith(WHITEOUT)) return this.whiteout(entry, parent, base.slice(WHITEOUT.length), body);

    this.makeParents(entry, parent);
    const existing = this.created.get(rel);
    if (existing === 'dir' && entry.type === 'dir') {
      this.directories.set(rel, entry);
      return;
    }
    const abs = this.abs(rel);
    if (existing === 'whiteout') {
      // A whiteout and a real entry of the same name in one layer: the real entry wins.
      fs.unlinkSync(abs);
      this.created.delete(rel);
    } else if (existing !== undefined) {
      throw bad(entry, `duplicate entry (already a ${KIND_NAMES[existing]})`);
    }
    switch (entry.type) {
      case 'dir':
        fs.mkdirSync(abs, { mode: 0o700 });
        this.created.set(rel, 'dir');
        this.directories.set(rel, entry);
        return;
      case 'file':
        return this.writeFile(entry, rel, abs, body);
      case 'hardlink':
        return this.hardlink(entry, rel, abs);
      case 'symlink':
        if (!entry.linkname) throw bad(entry, 'symlink without a target');
        if (Buffer.byteLength(entry.linkname) > MAX_PATH_BYTES)
          throw bad(entry, `symlink target is over ${MAX_PATH_BYTES} bytes, more than Linux takes`);
        fs.symlinkSync(entry.linkname, abs);
        this.created.set(rel, 'symlink');
        fs.lchownSync(abs, entry.uid, entry.gid);
        this.setXattrs(abs, entry, 'symlink');
        fs.lutimesSync(abs, entry.mtime, entry.mtime);
        return;
      case 'char':
      case 'block':
      case 'fifo': {
        const major = entry.devmajor ?? 0;
        const minor = entry.devminor ?? 0;
        if (entry.type !== 'fifo' && (major > MAX_MAJOR || minor > MAX_MINOR))
          throw bad(
            entry,
            `device number ${major}:${minor} is out of range (Linux takes major ≤ ${MAX_MAJOR}, minor ≤ ${MAX_MINOR})`,
          );
        mknod(abs, entry.type, 0o600, major, minor);
        this.created.set(rel, entry.type);
        fs.lchownSync(abs, entry.uid, entry.gid);
        // Our own node, just made under directories we made: chmod cannot follow a symlink here.
        fs.chmodSync(abs, entry.mode);
        this.setXattrs(abs, entry, entry.type);
        fs.lutimesSync(abs, entry.mtime, entry.mtime);
        return;
      }
    }
  }

  /** Sets modes, owners, xattrs and times of directories, deepest first, once nothing is added to them. */
  finishDirectories(): void {
    const order = [...this.directories.keys()].sort((a, b) => depth(b) - depth(a));
    for (const rel of order) {
      const entry = this.directories.get(rel)!;
      const abs = this.abs(rel);
      fs.lchownSync(abs, entry.uid, entry.gid);
      fs.chmodSync(abs, entry.mode);
      this.setXattrs(abs, entry, 'dir');
      fs.lutimesSync(abs, entry.mtime, entry.mtime);
    }
  }

  private async writeFile(
    entry: TarEntry,
    rel: string,
    abs: string,
    body: AsyncIterable<Buffer>,
  ): Promise<void> {
    this.created.set(rel, 'file');
    this.recorder?.file(rel, entry.size);
    await writeEntryFile(abs, entry, body, () => this.setXattrs(abs, entry, 'file'));
    this.files++;
  }

  private hardlink(entry: TarEntry, rel: string, abs: string): void {
    const linkname = entry.linkname ?? '';
    const fail = (cause: string): InvalidArgument =>
      new InvalidArgument(
        `apply layer: hardlink \`${printable(entry.name)}\` → \`${printable(linkname)}\`: ${cause}`,
      );
    let target: string;
    try {
      target = normalise(linkname);
    } catch (err) {
      if (!(err instanceof BadPath)) throw err;
      throw fail(err.outside ? 'target outside the layer' : `bad target: ${err.message}`);
    }
    const kind = this.created.get(target);
    if (kind === undefined) throw fail('target not in this layer');
    if (kind !== 'file') throw fail(`target is a ${KIND_NAMES[kind]}, not a regular file`);
    fs.linkSync(this.abs(target), abs);
    this.created.set(rel, 'file');
  }

  private async opaque(
    entry: TarEntry,
    rel: string,
    dir: string,
    body: AsyncIterable<Buffer>,
  ): Promise<void> {
    this.makeParents(entry, dir, true);
    if (this.created.has(rel)) throw bad(entry, 'duplicate opaque marker');
    this.created.set(rel, 'opaque');
    setXattr(this.abs(dir), 'trusted.overlay.opaque', Buffer.from('y'));
    await this.skip(body);
  }

  private async whiteout(
    entry: TarEntry,
    parent: string,
    name: string,
    body: AsyncIterable<Buffer>,
  ): Promise<void> {
    if (name === '' || name === '.' || name === '..') throw bad(entry, `whiteout of \`${name}\``);
    this.makeParents(entry, parent);
    const rel = parent === '' ? name : `${parent}/${name}`;
    const existing = this.created.get(rel);
    if (existing === 'whiteout') throw bad(entry, 'duplicate whiteout');
    if (existing === undefined) {
      const abs = this.abs(rel);
      mknod(abs, 'char', 0, 0, 0);
      this.created.set(rel, 'whiteout');
      // Owner and mode are fixed by overlayfs; the time is kept so packing the layer again is stable.
      fs.lutimesSync(abs, entry.mtime, entry.mtime);
    }
    await this.skip(body);
  }

  /** Checks each parent is a directory of this archive, creating missing ones 0755 root:root. */
  private makeParents(entry: TarEntry, parent: string, includingLast = false): void {
    // A directory in the map was made under checked parents, and a directory never changes kind.
    if (this.created.get(parent) === 'dir') return;
    const parentParts = parent.split('/');
    let prefix = '';
    for (let i = 0; i < parentParts.length; i++) {
      prefix = i === 0 ? parentParts[0]! : `${prefix}/${parentParts[i]}`;
      const kind = this.created.get(prefix);
      if (kind === 'dir') continue;
      if (kind !== undefined) {
        const what = includingLast && i === parentParts.length - 1 ? 'opaque directory' : 'parent';
        throw bad(entry, `${what} \`${prefix}\` is a ${KIND_NAMES[kind]}`);
      }
      const abs = this.abs(prefix);
      fs.mkdirSync(abs, { mode: 0o755 });
      this.created.set(prefix, 'dir');
      fs.lchownSync(abs, 0, 0);
      fs.chmodSync(abs, 0o755);
    }
  }

  /** Data of an entry not kept on disk still belongs to the archive: it goes to the record as raw bytes. */
  private async skip(body: AsyncIterable<Buffer>): Promise<void> {
    if (this.recorder === undefined) return;
    for await (const chunk of body) this.recorder.raw(chunk);
  }

  private setXattrs(abs: string, entry: TarEntry, kind: Kind): void {
    if (entry.xattrs === undefined) return;
    for (const [name, value] of entry.xattrs) {
      if (name.startsWith(OVERLAY_XATTRS)) continue;
      // Linux allows user.* only on regular files and directories (xattr(7)).
      if (name.startsWith('user.') && kind !== 'file' && kind !== 'dir') continue;
      try {
        setXattr(abs, name, value);
      } catch (err) {
        // The layer asks for what this file system cannot hold: the entry and the xattr are
        // the news, not the temp path it was being written to.
        const why = XATTR_REFUSALS[errnoCode(err) ?? ''];
        if (why === undefined) throw err;
        throw bad(entry, `xattr \`${printable(name)}\` (${value.length} bytes): ${why} (${errnoCode(err)})`);
      }
    }
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }
}

/** Linux's NAME_MAX and PATH_MAX: a longer name fails in the kernel with ENAMETOOLONG. */
const MAX_COMPONENT_BYTES = 255;
const MAX_PATH_BYTES = 4095;

/**
 * The path an entry names, relative to the root ('' for the root itself): leading "./" and a
 * trailing "/" stripped, "." components dropped. Anything else odd is rejected, not repaired.
 */
function normalise(name: string): string {
  if (name === '') throw new BadPath('empty name');
  if (name.includes('\0')) throw new BadPath('name contains a NUL byte');
  checkLength(name);
  if (name.startsWith('/')) throw new BadPath('absolute path', true);
  let rest = name;
  while (rest.startsWith('./')) rest = rest.slice(2);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest === '' || rest === '.') return '';
  // Most names need no more than that.
  if (rest[0] !== '.' && rest[0] !== '/' && !rest.includes('/.') && !rest.includes('//')) return rest;
  const out: string[] = [];
  let level = 0;
  let dotdot = false;
  let escapes = false;
  for (const part of rest.split('/')) {
    if (part === '') throw new BadPath('empty path component');
    if (part === '.') continue;
    if (part === '..') {
      dotdot = true;
      if (--level < 0) escapes = true;
      continue;
    }
    level++;
    out.push(part);
  }
  if (escapes) throw new BadPath('path escapes the layer root', true);
  if (dotdot) throw new BadPath('path contains a `..` component');
  return out.join('/');
}

function checkLength(name: string): void {
  if (Buffer.byteLength(name) > MAX_PATH_BYTES)
    throw new BadPath(`name is over ${MAX_PATH_BYTES} bytes, more than Linux takes for a path`);
  for (const part of name.split('/'))
    if (Buffer.byteLength(part) > MAX_COMPONENT_BYTES)
      throw new BadPath(`a name component is over ${MAX_COMPONENT_BYTES} bytes, more than Linux takes`);
}

function depth(rel: string): number {
  if (rel === '') return -1;
  let n = 0;
  for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) n++;
  return n;
}

function bad(entry: TarEntry, cause: string): InvalidArgument {
  return new InvalidArgument(`apply layer: entry \`${printable(entry.name)}\`: ${cause}`);
}

/** Names in messages: control characters would garble a terminal, and a 60 KiB name flood it. */
function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

function wrap(err: unknown, context: string): unknown {
  if (err instanceof SkiffError || (err instanceof Error && err.name === 'AbortError')) return err;
  if (err instanceof BadPath) return new InvalidArgument(`${context}: ${err.message}`);
  const message = err instanceof Error ? err.message : String(err);
  return new SkiffError('APPLY_LAYER_FAILED', 'internal', `${context}: ${message}`, { cause: err });
}
