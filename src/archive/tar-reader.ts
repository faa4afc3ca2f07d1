/**
 * Streaming tar reader for POSIX ustar/pax, GNU and v7 archives. Every byte it reads is
 * handed back, as header bytes (`raw`), entry data (`body`) or the `trailer`, so a layer tar
 * can be rebuilt byte for byte from its entries (the diff ID must not change).
 */
import { DataLoss, FailedPrecondition, InvalidArgument } from '../util/errors.js';
import { ByteInput } from './byte-input.js';
import { parsePaxRecords } from './pax.js';
import {
  BLOCK,
  blockName,
  decodeHeader,
  paddingFor,
  type EntryType,
  type RawHeader,
  type TarEntry,
} from './tar-header.js';

export interface ReadEntry {
  entry: TarEntry;
  /** Every byte of the archive from the end of the previous entry's data (so including the previous
   *  entry's padding) up to the first data byte of this entry: all header blocks (PAX 'x'/'g', GNU 'L'/'K', ustar). */
  raw: Buffer;
  /** The entry's data; must be consumed or it is skipped when the iterator advances. Empty for non-files. */
  body: AsyncIterable<Buffer>;
}

export interface TarReader extends AsyncIterable<ReadEntry> {
  /** After iteration ends: every byte after the last entry's data (its padding, end blocks, anything after). */
  readonly trailer: Buffer;
}

const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** Metadata headers are held in memory; real ones are a few KiB (names, xattrs). */
const MAX_META_SIZE = 16 << 20;

/** uid_t and gid_t are 32 bits, and all ones means "leave unchanged" to chown(2). */
const MAX_OWNER_ID = 0xfffffffe;

/** A time_t is 64 bits of seconds: anything else is refused by utimes(2), or is no time. */
const MAX_TIME = 2 ** 63;

const TYPES: Record<string, EntryType> = {
  '\0': 'file',
  '0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere but on Masscomp
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/** GNU extensions that change what the data means; skipping them would lose or corrupt files. */
const UNSUPPORTED: Record<string, string> = {
  S: 'GNU sparse file',
  M: 'GNU multi-volume continuation',
  N: 'GNU old long name',
  D: 'GNU incremental dump directory',
};

export function readTar(source: AsyncIterable<Buffer>, options?: { signal?: AbortSignal }): TarReader {
  let trailer: Buffer | undefined;
  let started = false;
  return {
    get trailer(): Buffer {
      if (trailer === undefined) throw new FailedPrecondition('read tar: trailer read before the last entry');
      return trailer;
    },
    [Symbol.asyncIterator]() {
      if (started) throw new FailedPrecondition('read tar: the archive can be iterated only once');
      started = true;
      return entries(new ByteInput(source, options?.signal), (t) => (trailer = t));
    },
  };
}

/** The entry whose data is being read: tracks how much of it the consumer has taken. */
interface Body {
  name: string;
  offset: number;
  size: number;
  remaining: number;
  live: boolean;
}

async function* entries(input: ByteInput, setTrailer: (t: Buffer) => void): AsyncGenerator<ReadEntry> {
  const globals = new Map<string, Buffer>();
  let locals = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  let raw: Buffer[] = [];
  let previous: Body | undefined;
  let last: string | undefined;
  try {
    for (;;) {
      if (previous !== undefined) {
        previous.live = false;
        await skip(input, previous);
        const padding = paddingFor(previous.size).length;
        if (!(await input.fill(padding))) throw truncated(previous, 'padding', padding, input.available);
        if (padding > 0) raw.push(input.take(padding));
        previous = undefined;
      }
      const offset = input.offset;
      const at = (): string =>
        `header at byte ${offset}${last === undefined ? '' : ` (after entry \`${last}\`)`}`;
      const pending = locals.size > 0 || longName !== undefined || longLink !== undefined;
      if (!(await input.fill(BLOCK))) {
        if (input.available === 0 && !pending) {
          throw new DataLoss(`read tar: ${at()}: missing end-of-archive marker (truncated archive?)`);
        }
        throw new DataLoss(`read tar: ${at()}: truncated after ${input.available} of ${BLOCK} bytes`);
      }
      const block = input.take(BLOCK);
      raw.push(block);
      if (block.equals(ZERO_BLOCK)) {
        if (pending) throw new InvalidArgument(`read tar: ${at()}: extended header not followed by an entry`);
        raw.push(await input.rest());
        setTrailer(Buffer.concat(raw));
        return;
      }
      const header = decodeHeader(block, offset);
      const where = (): string => `entry \`${blockName(block)}\` at byte ${offset}`;
      const type = entryType(header);
      if (type === undefined) {
        const { data: meta, bytes } = await readMeta(input, header, where);
        raw.push(bytes);
        const records = (): Map<string, Buffer> => {
          const parsed = parsePaxRecords(meta);
          if (typeof parsed === 'string') throw new InvalidArgument(`read tar: ${where()}: ${parsed}`);
          return parsed;
        };
        if (header.typeflag === 'x' || header.typeflag === 'X') locals = new Map([...locals, ...records()]);
        else if (header.typeflag === 'g') {
          for (const [key, value] of records()) {
            if (value.length === 0) globals.delete(key);
            else globals.set(key, value);
          }
        } else if (header.typeflag === 'L') longName = cString(meta);
        else if (header.typeflag === 'K') longLink = cString(meta);
        // 'V' (volume label) carries no file: its bytes go into the next entry's raw.
        continue;
      }
      const entry = buildEntry(header, type, { globals, locals, longName, longLink }, where);
      const body: Body = {
        name: entry.name,
        offset: input.offset,
        size: entry.size,
        remaining: entry.size,
        live: true,
      };
      previous = body;
      last = entry.name;
      const rawBytes = Buffer.concat(raw);
      raw = [];
      if (locals.size > 0) locals = new Map();
      longName = undefined;
      longLink = undefined;
      yield { entry, raw: rawBytes, body: bodyOf(input, body) };
    }
  } finally {
    await input.close();
  }
}

function entryType(header: RawHeader): EntryType | undefined {
  const flag = header.typeflag;
  if ('xXgLKV'.includes(flag)) return undefined;
  // Before ustar, directories were regular-file headers whose name ends in '/'.
  if (header.name.endsWith('/') && (flag === '\0' || (flag === '0' && header.format === 'v7'))) return 'dir';
  return TYPES[flag];
}

/** Reads the data of a metadata header ('x', 'g', 'L', 'K', 'V'), which must be held whole. */
async function readMeta(
  input: ByteInput,
  header: RawHeader,
  where: () => string,
): Promise<{ data: Buffer; bytes: Buffer }> {
  if (!'xXgLKV'.includes(header.typeflag)) {
    const flag = JSON.stringify(header.typeflag);
    const what = UNSUPPORTED[header.typeflag];
    throw new InvalidArgument(
      `read tar: ${where()}: unsupported typeflag ${flag}${what ? ` (${what})` : ''}`,
    );
  }
  if (header.size > MAX_META_SIZE) {
    throw new InvalidArgument(
      `read tar: ${where()}: ${header.size}-byte extended header exceeds the 16 MiB limit`,
    );
  }
  const total = header.size + paddingFor(header.size).length;
  if (!(await input.fill(total))) {
    throw new DataLoss(
      `read tar: ${where()}: extended header truncated after ${input.available} of ${total} bytes`,
    );
  }
  const bytes = input.take(total);
  // Copied: a subarray would pin the source's (possibly large) chunk for as long as a global header lives.
  return { data: Buffer.from(bytes.subarray(0, header.size)), bytes };
}

interface Extensions {
  globals: Map<string, Buffer>;
  locals: Map<string, Buffer>;
  longName: string | undefined;
  longLink: string | undefined;
}

function buildEntry(header: RawHeader, type: EntryType, ext: Extensions, where: () => string): TarEntry {
  // A local record with an empty value cancels the global one (pax: "keyword= ").
  const pax = (key: string): Buffer | undefined => {
    const value = ext.locals.has(key) ? ext.locals.get(key) : ext.globals.get(key);
    return value === undefined || value.length === 0 ? undefined : value;
  };
  const text = (key: string): string | undefined => pax(key)?.toString('utf8');
  const bad = (field: string, value: string | number, cause: string): InvalidArgument =>
    new InvalidArgument(`read tar: ${where()}: ${field} \`${shown(String(value))}\` ${cause}`);
  const integer = (key: string, fallback: number): number => {
    const value = text(key);
    if (value === undefined) return fallback;
    if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw bad('PAX record', `${key}=${value}`, 'is not an integer');
    }
    return Number(value);
  };
  for (const map of [ext.locals, ext.globals]) {
    for (const key of map.keys()) {
      if (key.startsWith('GNU.sparse.'))
        throw new InvalidArgument(`read tar: ${where()}: sparse files are not supported`);
    }
  }
  const mtimeText = text('mtime');
  if (mtimeText !== undefined && !/^-?[0-9]+(\.[0-9]*)?$/.test(mtimeText)) {
    throw bad('PAX record', `mtime=${mtimeText}`, 'is not a number');
  }
  if (mtimeText !== undefined && !(Math.abs(Number(mtimeText)) < MAX_TIME)) {
    throw bad('PAX record', `mtime=${mtimeText}`, 'is out of range (a 64-bit count of seconds)');
  }
  const entry: TarEntry = {
    name: text('path') ?? ext.longName ?? header.name,
    type,
    mode: header.mode & 0o7777,
    uid: integer('uid', header.uid),
    gid: integer('gid', header.gid),
    size: type === 'file' ? integer('size', header.size) : 0,
    mtime: mtimeText !== undefined ? Number(mtimeText) : header.mtime,
  };
  for (const id of ['uid', 'gid'] as const) {
    if (entry[id] > MAX_OWNER_ID) throw bad('field', id, `is ${entry[id]}, more than ${MAX_OWNER_ID}`);
  }
  if (entry.name.includes('\0')) throw bad('PAX record', 'path', 'contains a NUL byte');
  const uname = text('uname') ?? header.uname;
  const gname = text('gname') ?? header.gname;
  if (uname !== '') entry.uname = uname;
  if (gname !== '') entry.gname = gname;
  if (type === 'hardlink' || type === 'symlink') {
    entry.linkname = text('linkpath') ?? ext.longLink ?? header.linkname;
    if (entry.linkname.includes('\0')) throw bad('link target', entry.linkname, 'contains a NUL byte');
  }
  if (type === 'char' || type === 'block') {
    entry.devmajor = header.devmajor;
    entry.devminor = header.devminor;
  }
  if (ext.globals.size + ext.locals.size > 0) {
    const xattrs = readXattrs(new Map([...ext.globals, ...ext.locals]));
    for (const name of xattrs.keys()) {
      if (name === '' || name.includes('\0')) throw bad('xattr name', name, 'is empty or has a NUL byte');
    }
    if (xattrs.size > 0) entry.xattrs = xattrs;
  }
  return entry;
}

function readXattrs(records: Map<string, Buffer>): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of records) {
    if (value.length === 0) continue;
    if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(value));
    else if (key.startsWith('LIBARCHIVE.xattr.')) {
      // libarchive percent-encodes the name and base64-encodes the value.
      const name = percentDecode(key.slice('LIBARCHIVE.xattr.'.length));
      xattrs.set(name, Buffer.from(value.toString('latin1'), 'base64'));
    } else if (key === 'RHT.security.selinux') xattrs.set('security.selinux', Buffer.from(value));
  }
  return xattrs;
}

function percentDecode(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes.toString('latin1', i + 1, i + 3);
    if (bytes[i] === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex)) {
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else out[n++] = bytes[i]!;
  }
  return out.toString('utf8', 0, n);
}

/** A value from the archive in a message: one line, cut short, so no input can flood a log. */
function shown(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}

function cString(data: Buffer): string {
  const end = data.indexOf(0);
  return data.toString('utf8', 0, end === -1 ? data.length : end);
}

function bodyOf(input: ByteInput, body: Body): AsyncIterable<Buffer> {
  const movedOn = (): FailedPrecondition =>
    new FailedPrecondition(`read tar: entry \`${body.name}\`: data read after the reader moved on`);
  return {
    async *[Symbol.asyncIterator]() {
      if (body.size === 0) return;
      if (!body.live) throw movedOn();
      while (body.remaining > 0) {
        const chunk = await input.next(body.remaining);
        if (chunk === undefined) throw truncated(body, 'data', body.size, body.size - body.remaining);
        body.remaining -= chunk.length;
        yield chunk;
        // The reader advanced while this body was open and skipped the rest of the data.
        if (!body.live) throw movedOn();
      }
    },
  };
}

async function skip(input: ByteInput, body: Body): Promise<void> {
  while (body.remaining > 0) {
    const chunk = await input.next(body.remaining);
    if (chunk === undefined) throw truncated(body, 'data', body.size, body.size - body.remaining);
    body.remaining -= chunk.length;
  }
}

function truncated(body: Body, what: string, expected: number, got: number): DataLoss {
  return new DataLoss(
    `read tar: entry \`${body.name}\` at byte ${body.offset}: ${what} truncated after ${got} of ${expected} bytes`,
  );
}
