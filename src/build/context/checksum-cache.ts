/**
 * Content checksums of context paths, for build cache keys.
 *
 * Like BuildKit's contenthash, the checksum covers what lands in the image — path, type,
 * mode, owner (as the COPY sets it), link target, file content — and never the mtime, so a
 * fresh `git clone` of the same tree hits the cache. Hashing content is the slow part, so the
 * content hash of each file is remembered beside its stat (dev, ino, size, mtime, ctime) in
 * one file per context, as git's index does: when the stat is unchanged, the file is not read.
 *
 * Why ctime is in the key: `utimes` can put the mtime back after a same-size edit, but no
 * system call sets the ctime, and every write or utimes moves it to "now". When all five
 * fields match, the stored hash is used unread — by design, so only a change of the system
 * clock, or a filesystem that does not keep ctime, can make it stale.
 */

import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../../util/atomic.js';
import { InvalidArgument, errnoCode } from '../../util/errors.js';
import type { Digest } from '../../oci/digest.js';
import type { ContextEntry, EntryType } from './walk.js';

export interface ChecksumCacheOptions {
  /** Where the stat-keyed cache file lives; created on save. */
  cacheDir: string;
  /** Hex sha256 of a file's content; tests inject one to count reads. */
  hashFile?: (absPath: string, size: number) => Promise<string> | string;
}

export interface ChecksumOptions {
  /** Owner the COPY gives the files (`--chown`); root by default, as in Docker. */
  uid?: number;
  gid?: number;
  /** Permission bits the COPY sets (`--chmod`) instead of the context's. */
  chmod?: number;
  /** Filled with each path's own record digest (what `--explain-cache` compares file by file). */
  perFile?: Map<string, string>;
  signal?: AbortSignal;
}

const FORMAT_VERSION = 1;
/** Files up to this size are read whole; larger ones are streamed through the hash. */
const WHOLE_READ_LIMIT = 1 << 20;
/**
 * Kernel timestamps come from a coarse clock (one tick, a few ms, behind the real time). A
 * content hash is trusted later only if the file's ctime was at least this long before the
 * hash was taken; otherwise a write in the same tick, after the read, would keep the same
 * stat (git's "racily clean" entries).
 */
const RACY_MARGIN_NS = 50_000_000n;
/** Files hashed at once on a miss: enough to keep the disk busy, few enough descriptors. */
const HASH_CONCURRENCY = 16;

/** The stat a content hash was taken at; bigints compared as they are (no string keys). */
interface CachedHash {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  hex: string;
}

function sameStat(c: CachedHash, s: fs.BigIntStats): boolean {
  return (
    c.ctimeNs === s.ctimeNs &&
    c.mtimeNs === s.mtimeNs &&
    c.size === s.size &&
    c.ino === s.ino &&
    c.dev === s.dev
  );
}

function typeOf(stat: fs.BigIntStats): EntryType {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  return 'other';
}

async function defaultHashFile(absPath: string, size: number): Promise<string> {
  if (size <= WHOLE_READ_LIMIT) return createHash('sha256').update(fs.readFileSync(absPath)).digest('hex');
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(absPath), hash);
  return hash.digest('hex');
}

export class ChecksumCache {
  readonly root: string;
  readonly file: string;
  /** Files whose content was hashed (read) since open; hits reuse a stored hash. */
  hashed = 0;
  hits = 0;
  readonly #hashFile: (absPath: string, size: number) => Promise<string> | string;
  readonly #entries: Map<string, CachedHash>;
  #dirty = false;

  private constructor(
    root: string,
    file: string,
    entries: Map<string, CachedHash>,
    options: ChecksumCacheOptions,
  ) {
    this.root = root;
    this.file = file;
    this.#entries = entries;
    this.#hashFile = options.hashFile ?? defaultHashFile;
  }

  /** The cache of the context at `root`; one cache dir can serve many contexts. */
  static open(root: string, options: ChecksumCacheOptions): ChecksumCache {
    let realRoot: string;
    try {
      realRoot = fs.realpathSync(root);
    } catch (err) {
      throw contextError(root, err);
    }
    const name = `context-${createHash('sha256').update(realRoot).digest('hex').slice(0, 32)}.bin`;
    const file = path.join(options.cacheDir, name);
    return new ChecksumCache(realRoot, file, load(file, realRoot), options);
  }

  /**
   * sha256 over, for each path in order: path, type, mode, uid, gid, link target and, for a
   * regular file, the sha256 of its content. Pass the walk's entries to reuse its lstat; a
   * bare path is lstat'ed here.
   */
  async checksum(paths: readonly (string | ContextEntry)[], options: ChecksumOptions = {}): Promise<Digest> {
    const uid = options.uid ?? 0;
    const gid = options.gid ?? 0;
    const entries = paths.map((p) => (typeof p === 'string' ? this.#lstat(p) : p));
    const contentHex = new Array<string | undefined>(entries.length);
    const misses: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.type !== 'file') continue;
      const cached = this.#entries.get(entry.path);
      if (cached !== undefined && sameStat(cached, entry.stat)) {
        contentHex[i] = cached.hex;
        this.hits++;
      } else misses.push(i);
    }
    for (let start = 0; start < misses.length; start += HASH_CONCURRENCY) {
      options.signal?.throwIfAborted();
      const batch = misses.slice(start, start + HASH_CONCURRENCY);
      await Promise.all(batch.map(async (i) => (contentHex[i] = await this.#hash(entries[i]!))));
    }
    // One update over the joined records: measured ~4x faster than an update per record,
    // because each call crosses into C++.
    const records = new Array<string>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const mode = (options.chmod ?? Number(e.stat.mode)) & 0o7777;
      const link = e.type === 'symlink' ? (e.linkTarget ?? this.#readlink(e.path)) : '';
      // NUL cannot occur in a path or link target, so the fields cannot run into each other.
      records[i] =
        `${e.path}\0${e.type}\0${mode.toString(8)}\0${uid}\0${gid}\0${link}\0${contentHex[i] ?? ''}\n`;
    }
    if (options.perFile) {
      for (let i = 0; i < entries.length; i++) {
        const record = records[i]!;
        options.perFile.set(entries[i]!.path, createHash('sha256').update(record).digest('hex').slice(0, 16));
      }
    }
    return `sha256:${createHash('sha256').update(records.join('')).digest('hex')}`;
  }

  /** Forget paths no longer in the context, so the file does not grow forever. */
  prune(keep: Iterable<string>): void {
    const wanted = new Set(keep);
    for (const p of this.#entries.keys()) {
      if (!wanted.has(p)) {
        this.#entries.delete(p);
        this.#dirty = true;
      }
    }
  }

  /** Writes the cache file atomically when something changed. */
  save(): void {
    if (!this.#dirty) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileAtomic(this.file, encode(this.root, this.#entries));
    this.#dirty = false;
  }

  async #hash(entry: ContextEntry): Promise<string> {
    const takenAtNs = BigInt(Date.now()) * 1_000_000n;
    let hex: string;
    try {
      hex = await this.#hashFile(path.join(this.root, entry.path), Number(entry.stat.size));
    } catch (err) {
      throw contextError(entry.path, err);
    }
    this.hashed++;
    if (entry.stat.ctimeNs < takenAtNs - RACY_MARGIN_NS) {
      const { dev, ino, size, mtimeNs, ctimeNs } = entry.stat;
      this.#entries.set(entry.path, { dev, ino, size, mtimeNs, ctimeNs, hex });
      this.#dirty = true;
    }
    return hex;
  }

  #lstat(rel: string): ContextEntry {
    try {
      const stat = fs.lstatSync(path.join(this.root, rel), { bigint: true });
      return { path: rel, type: typeOf(stat), stat };
    } catch (err) {
      throw contextError(rel, err);
    }
  }

  #readlink(rel: string): string {
    try {
      return fs.readlinkSync(path.join(this.root, rel));
    } catch (err) {
      throw contextError(rel, err);
    }
  }
}

function contextError(rel: string, err: unknown): InvalidArgument {
  const code = errnoCode(err);
  const cause =
    code === 'EACCES' ? 'permission denied' : code === 'ENOENT' ? 'no such file or directory' : String(err);
  return new InvalidArgument(`checksum build context \`${rel}\`: ${cause}`, {
    cause: err,
    code: 'BUILD_CONTEXT',
  });
}

/**
 * The cache file, binary because JSON of 10,000 entries took ~25 ms to load here:
 * "SKCK", u32 version, u32 root length, root, u32 count, then per entry
 * u16 path length, path, dev, ino, size, mtimeNs, ctimeNs (u64 LE each), 32-byte sha256.
 */
const MAGIC = 'SKCK';

function encode(root: string, entries: Map<string, CachedHash>): Buffer {
  const rootBytes = Buffer.from(root);
  const paths = [...entries.keys()].map((p) => Buffer.from(p));
  const size = 16 + rootBytes.length + paths.reduce((n, p) => n + 2 + p.length + 40 + 32, 0);
  const buf = Buffer.alloc(size);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(FORMAT_VERSION, 4);
  buf.writeUInt32LE(rootBytes.length, 8);
  rootBytes.copy(buf, 12);
  let off = 12 + rootBytes.length;
  off = buf.writeUInt32LE(entries.size, off);
  let i = 0;
  for (const c of entries.values()) {
    const p = paths[i++]!;
    off = buf.writeUInt16LE(p.length, off);
    off += p.copy(buf, off);
    for (const v of [c.dev, c.ino, c.size, c.mtimeNs, c.ctimeNs]) off = buf.writeBigUInt64LE(v, off);
    off += buf.write(c.hex, off, 'hex');
  }
  return buf;
}

/** A missing, unreadable, truncated or foreign cache file is an empty cache: it only saves time. */
function load(file: string, root: string): Map<string, CachedHash> {
  const entries = new Map<string, CachedHash>();
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return entries;
  }
  try {
    if (buf.toString('latin1', 0, 4) !== MAGIC || buf.readUInt32LE(4) !== FORMAT_VERSION) return entries;
    const rootLength = buf.readUInt32LE(8);
    if (buf.toString('utf8', 12, 12 + rootLength) !== root) return entries;
    let off = 12 + rootLength;
    const count = buf.readUInt32LE(off);
    off += 4;
    for (let i = 0; i < count; i++) {
      const length = buf.readUInt16LE(off);
      const p = buf.toString('utf8', off + 2, off + 2 + length);
      off += 2 + length;
      if (off + 72 > buf.length) throw new RangeError('truncated');
      entries.set(p, {
        dev: buf.readBigUInt64LE(off),
        ino: buf.readBigUInt64LE(off + 8),
        size: buf.readBigUInt64LE(off + 16),
        mtimeNs: buf.readBigUInt64LE(off + 24),
        ctimeNs: buf.readBigUInt64LE(off + 32),
        hex: buf.toString('hex', off + 40, off + 72),
      });
      off += 72;
    }
  } catch {
    entries.clear();
  }
  return entries;
}
