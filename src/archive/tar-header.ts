/**
 * The tar header block: the entry model, encoding an entry as ustar (plus a PAX extended
 * header when ustar cannot hold it) and decoding one 512-byte block of any common format
 * (POSIX ustar/pax, GNU, v7). Field layout: POSIX.1-2017 `pax`, "ustar Interchange Format".
 */
import { InvalidArgument } from '../util/errors.js';
import { encodePaxRecords, type PaxRecord } from './pax.js';

export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  /** Path as stored (after applying PAX path / GNU long name), no normalisation. */
  name: string;
  type: EntryType;
  /** Permission bits incl. setuid/setgid/sticky (& 0o7777); mode 0 stays 0. */
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  /** Data bytes (0 unless type 'file'). */
  size: number;
  /** Seconds since epoch (may be fractional when read from PAX). */
  mtime: number;
  /** Hardlink target or symlink target. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** From PAX `SCHILY.xattr.<name>` records, binary-safe values. */
  xattrs?: Map<string, Buffer>;
}

export const BLOCK = 512;

/** Two zero blocks. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK);

const ZERO_PAD = Buffer.alloc(BLOCK);

/** Zero padding after `size` data bytes up to the next 512 boundary. */
export function paddingFor(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? ZERO_PAD.subarray(0, 0) : ZERO_PAD.subarray(rest);
}

// Field offsets and widths of the ustar header.
const NAME = [0, 100] as const;
const MODE = [100, 8] as const;
const UID = [108, 8] as const;
const GID = [116, 8] as const;
const SIZE = [124, 12] as const;
const MTIME = [136, 12] as const;
const CHKSUM = [148, 8] as const;
const TYPEFLAG = 156;
const LINKNAME = [157, 100] as const;
const MAGIC = [257, 6] as const;
const VERSION = [263, 2] as const;
const UNAME = [265, 32] as const;
const GNAME = [297, 32] as const;
const DEVMAJOR = [329, 8] as const;
const DEVMINOR = [337, 8] as const;
const PREFIX = [345, 155] as const;

const MAX_ID = 0o7777777;
const MAX_SIZE = 0o77777777777;

const TYPEFLAGS: Record<EntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** All header blocks for the entry: a PAX 'x' header first when needed, then the ustar header. Deterministic. */
export function encodeHeader(entry: TarEntry): Buffer {
  validate(entry);
  const name = entry.type === 'dir' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const nameBytes = Buffer.from(name, 'utf8');
  const linkBytes = Buffer.from(entry.linkname ?? '', 'utf8');
  const unameBytes = Buffer.from(entry.uname ?? '', 'utf8');
  const gnameBytes = Buffer.from(entry.gname ?? '', 'utf8');
  const size = entry.type === 'file' ? entry.size : 0;
  // PAX carries fractional seconds, but layer tars must be reproducible from lstat data whose
  // sub-second part differs between file systems, so only whole seconds are written.
  const mtime = Math.floor(entry.mtime);

  const pax: PaxRecord[] = [];
  const split = splitName(nameBytes);
  if (split === undefined || !isAscii(nameBytes)) pax.push(['path', nameBytes]);
  if (linkBytes.length > LINKNAME[1] || !isAscii(linkBytes)) pax.push(['linkpath', linkBytes]);
  if (entry.uid > MAX_ID) pax.push(['uid', ascii(entry.uid)]);
  if (entry.gid > MAX_ID) pax.push(['gid', ascii(entry.gid)]);
  // The field must keep a terminating NUL.
  if (unameBytes.length >= UNAME[1] || !isAscii(unameBytes)) pax.push(['uname', unameBytes]);
  if (gnameBytes.length >= GNAME[1] || !isAscii(gnameBytes)) pax.push(['gname', gnameBytes]);
  if (size > MAX_SIZE) pax.push(['size', ascii(size)]);
  if (mtime < 0 || mtime > MAX_SIZE) pax.push(['mtime', ascii(mtime)]);
  const xattrNames = [...(entry.xattrs?.keys() ?? [])].sort(compareUtf8);
  for (const key of xattrNames) pax.push([`SCHILY.xattr.${key}`, entry.xattrs!.get(key)!]);

  const block = Buffer.alloc(BLOCK);
  const [prefix, rest] = split ?? [Buffer.alloc(0), nameBytes.subarray(0, NAME[1])];
  rest.copy(block, NAME[0]);
  prefix.copy(block, PREFIX[0]);
  writeOctal(block, MODE, entry.mode & 0o7777);
  writeOctal(block, UID, entry.uid > MAX_ID ? 0 : entry.uid);
  writeOctal(block, GID, entry.gid > MAX_ID ? 0 : entry.gid);
  writeOctal(block, SIZE, size > MAX_SIZE ? 0 : size);
  writeOctal(block, MTIME, mtime < 0 || mtime > MAX_SIZE ? 0 : mtime);
  block.write(TYPEFLAGS[entry.type], TYPEFLAG, 'latin1');
  linkBytes.subarray(0, LINKNAME[1]).copy(block, LINKNAME[0]);
  unameBytes.subarray(0, UNAME[1] - 1).copy(block, UNAME[0]);
  gnameBytes.subarray(0, GNAME[1] - 1).copy(block, GNAME[0]);
  writeOctal(block, DEVMAJOR, entry.devmajor ?? 0);
  writeOctal(block, DEVMINOR, entry.devminor ?? 0);
  finishBlock(block);
  if (pax.length === 0) return block;

  const records = encodePaxRecords(pax);
  const paxBlock = Buffer.alloc(BLOCK);
  Buffer.from(paxHeaderName(name), 'latin1').copy(paxBlock, NAME[0]);
  writeOctal(paxBlock, MODE, 0o644);
  writeOctal(paxBlock, UID, 0);
  writeOctal(paxBlock, GID, 0);
  writeOctal(paxBlock, SIZE, records.length);
  writeOctal(paxBlock, MTIME, mtime < 0 || mtime > MAX_SIZE ? 0 : mtime);
  paxBlock.write('x', TYPEFLAG, 'latin1');
  writeOctal(paxBlock, DEVMAJOR, 0);
  writeOctal(paxBlock, DEVMINOR, 0);
  finishBlock(paxBlock);
  return Buffer.concat([paxBlock, records, paddingFor(records.length), block]);
}

function validate(entry: TarEntry): void {
  const fail = (cause: string): never => {
    throw new InvalidArgument(`encode tar header \`${entry.name}\`: ${cause}`);
  };
  if (!(entry.type in TYPEFLAGS)) fail(`unknown entry type ${JSON.stringify(entry.type)}`);
  if (entry.name === '') fail('empty name');
  for (const [what, text] of [
    ['name', entry.name],
    ['linkname', entry.linkname],
    ['uname', entry.uname],
    ['gname', entry.gname],
  ] as const) {
    if (text?.includes('\0')) fail(`${what} contains a NUL byte`);
  }
  if ((entry.type === 'hardlink' || entry.type === 'symlink') && !entry.linkname) fail('missing linkname');
  for (const [what, value] of [
    ['uid', entry.uid],
    ['gid', entry.gid],
    ['size', entry.size],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) fail(`${what} ${value} is not a non-negative integer`);
  }
  if (entry.type !== 'file' && entry.size !== 0) fail(`size ${entry.size} on a ${entry.type}`);
  if (!Number.isFinite(entry.mtime)) fail(`mtime ${entry.mtime} is not a number`);
  if (!Number.isInteger(entry.mode) || entry.mode < 0) fail(`mode ${entry.mode} is not a valid mode`);
  for (const [what, value] of [
    ['devmajor', entry.devmajor],
    ['devminor', entry.devminor],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > MAX_ID)) {
      fail(`${what} ${value} does not fit the ustar field`);
    }
  }
  for (const key of entry.xattrs?.keys() ?? []) {
    // A PAX keyword ends at the first '=', so such a name cannot be represented.
    if (key === '' || key.includes('=') || key.includes('\0')) fail(`xattr name \`${key}\` cannot be stored`);
  }
}

/**
 * ustar splits a long name at a '/' into prefix (155 bytes) and name (100 bytes). Like GNU
 * tar, the split leaves the longest name part that fits. Returns undefined when no split fits.
 */
function splitName(bytes: Buffer): [Buffer, Buffer] | undefined {
  if (bytes.length <= NAME[1]) return [Buffer.alloc(0), bytes];
  for (let i = bytes.length - NAME[1] - 1; i < bytes.length - 1 && i <= PREFIX[1]; i++) {
    if (bytes[i] === 0x2f) return [bytes.subarray(0, i), bytes.subarray(i + 1)];
  }
  return undefined;
}

/** GNU tar names the 'x' header after the entry; only the base name is used so it always fits. */
function paxHeaderName(name: string): string {
  const base = name.replace(/\/+$/, '').split('/').pop() ?? '';
  const safe = base.replace(/[^\x20-\x7e]/g, '_') || 'entry';
  return `PaxHeaders/${safe}`.slice(0, NAME[1]);
}

function isAscii(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte > 0x7f) return false;
  return true;
}

function ascii(value: number): Buffer {
  return Buffer.from(String(value), 'latin1');
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Zero-padded octal, NUL-terminated, as GNU tar writes ustar numbers. */
function writeOctal(block: Buffer, [offset, width]: readonly [number, number], value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'latin1');
}

function finishBlock(block: Buffer): void {
  block.write('ustar\x0000', MAGIC[0], MAGIC[1] + VERSION[1], 'latin1');
  block.fill(0x20, CHKSUM[0], CHKSUM[0] + CHKSUM[1]);
  const sum = checksum(block).unsigned;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, CHKSUM[0], CHKSUM[1], 'latin1');
}

/** Sum of the block's bytes with the checksum field counted as spaces; old Sun tar summed signed bytes. */
function checksum(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= CHKSUM[0] && i < CHKSUM[0] + CHKSUM[1] ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 0x7f ? byte - 0x100 : byte;
  }
  return { unsigned, signed };
}

export type HeaderFormat = 'ustar' | 'gnu' | 'v7';

/** One header block as stored, before PAX records or GNU long names are applied. */
export interface RawHeader {
  format: HeaderFormat;
  /** Name with the ustar prefix joined in, as UTF-8. */
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

/** The name a block claims, for error messages, even when the block is otherwise unreadable. */
export function blockName(block: Buffer): string {
  return cString(block, NAME).replace(/[^\x20-\x7e]/g, '?');
}

/**
 * Decodes one header block. Throws InvalidArgument naming the block's entry and `offset`
 * on a checksum mismatch or an unreadable numeric field.
 */
export function decodeHeader(block: Buffer, offset: number): RawHeader {
  const fail = (cause: string): never => {
    throw new InvalidArgument(`read tar: entry \`${blockName(block)}\` at byte ${offset}: ${cause}`);
  };
  const stored = parseNumber(block, CHKSUM);
  const sums = checksum(block);
  if (stored === undefined) fail('unreadable header checksum (not a tar archive?)');
  if (stored !== sums.unsigned && stored !== sums.signed) {
    fail(`header checksum 0o${stored!.toString(8)} does not match computed 0o${sums.unsigned.toString(8)}`);
  }
  const magic = block.toString('latin1', MAGIC[0], VERSION[0] + VERSION[1]);
  const format: HeaderFormat = magic.startsWith('ustar\0') ? 'ustar' : magic === 'ustar  \0' ? 'gnu' : 'v7';
  // Only a time may be before 1970: GNU base-256 can write any negative number, and a
  // negative size, id or device number would reach the file system (or Node) as nonsense.
  const number = (field: readonly [number, number], what: string, signed = false): number => {
    const value =
      parseNumber(block, field) ??
      fail(`field \`${what}\` is not a number: ${JSON.stringify(fieldText(block, field))}`);
    return value < 0 && !signed ? fail(`field \`${what}\` is negative: ${value}`) : value;
  };
  let name = cString(block, NAME);
  if (format === 'ustar' && block[PREFIX[0]] !== 0) name = `${cString(block, PREFIX)}/${name}`;
  const extended = format !== 'v7';
  return {
    format,
    name,
    mode: number(MODE, 'mode'),
    uid: number(UID, 'uid'),
    gid: number(GID, 'gid'),
    size: number(SIZE, 'size'),
    mtime: number(MTIME, 'mtime', true),
    typeflag: String.fromCharCode(block[TYPEFLAG]!),
    linkname: cString(block, LINKNAME),
    uname: extended ? cString(block, UNAME) : '',
    gname: extended ? cString(block, GNAME) : '',
    devmajor: extended ? number(DEVMAJOR, 'devmajor') : 0,
    devminor: extended ? number(DEVMINOR, 'devminor') : 0,
  };
}

function cString(block: Buffer, [offset, width]: readonly [number, number]): string {
  const end = block.indexOf(0, offset);
  return block.toString('utf8', offset, end === -1 || end > offset + width ? offset + width : end);
}

function fieldText(block: Buffer, [offset, width]: readonly [number, number]): string {
  return block.toString('latin1', offset, offset + width);
}

/**
 * A numeric field: octal digits with optional leading spaces and trailing NULs/spaces
 * (empty means 0), or GNU base-256 when the high bit of the first byte is set.
 */
function parseNumber(block: Buffer, [offset, width]: readonly [number, number]): number | undefined {
  const first = block[offset]!;
  if (first & 0x80) {
    // Base-256: two's complement big-endian; 0x80 marks positive, 0xff negative.
    let value = BigInt(first & 0x7f) - (first & 0x40 ? 0x80n : 0n);
    for (let i = offset + 1; i < offset + width; i++) value = (value << 8n) | BigInt(block[i]!);
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  let i = offset;
  const end = offset + width;
  while (i < end && block[i] === 0x20) i++;
  let value = 0;
  for (; i < end; i++) {
    const byte = block[i]!;
    if (byte === 0 || byte === 0x20) break;
    if (byte < 0x30 || byte > 0x37) return undefined;
    value = value * 8 + (byte - 0x30);
  }
  for (; i < end; i++) if (block[i] !== 0 && block[i] !== 0x20) return undefined;
  return value;
}
