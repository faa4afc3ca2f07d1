/**
 * Test support for fuzzing the tar code: a seeded random source (so a failing case can be run
 * again from its seed), small valid layer tars of every entry kind, and mutations that keep a
 * tar close enough to valid to reach the code past the header checksum: header fields set to
 * hostile values with the checksum fixed, PAX records injected, blocks cut, repeated or flipped.
 */
import { encodePaxRecords } from './pax.js';
import { BLOCK, END_OF_ARCHIVE, encodeHeader, paddingFor, type TarEntry } from './tar-header.js';
import { writeTar, type WriteEntry } from './tar-writer.js';

/** mulberry32: tiny, fast and good enough to drive mutations; the same seed, the same cases. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** The seed of case `index` of a run seeded `seed`: each case can be replayed alone. */
export function caseSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

const T0 = 1_600_000_000;

/** A valid layer tar of 1–8 entries drawn from every kind a layer holds. */
export async function randomLayerTar(rng: Random): Promise<Buffer> {
  const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: T0 };
  const file = (name: string, data: Buffer, more: Partial<TarEntry> = {}): WriteEntry => ({
    entry: { ...base, name, type: 'file', size: data.length, ...more },
    body: data,
  });
  const pool: (() => WriteEntry)[] = [
    () => file('d/f', rng.bytes(rng.int(1500))),
    () => file('d/empty', Buffer.alloc(0), { mode: 0o4755, uid: 1000, gid: 1000 }),
    () => ({ entry: { ...base, name: 'd/l', type: 'symlink', linkname: 'f' } }),
    () => ({ entry: { ...base, name: 'd/h', type: 'hardlink', linkname: 'd/f' } }),
    () => ({ entry: { ...base, name: 'd/c', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 } }),
    () => ({ entry: { ...base, name: 'd/p', type: 'fifo' } }),
    () => file('d/.wh.gone', Buffer.alloc(0)),
    () => file('d/.wh..wh..opq', Buffer.alloc(0)),
    () => file(`d/${'n'.repeat(120)}/${'m'.repeat(90)}`, Buffer.from('long\n')),
    () => file('d/x', Buffer.from('xattrs\n'), { xattrs: new Map([['user.k', rng.bytes(rng.int(40))]]) }),
    () => file('d/ids', Buffer.from('ids\n'), { uid: 3_000_000, gid: 4_000_000, mtime: T0 + 0.5 }),
    () => ({ entry: { ...base, name: 'e', type: 'dir', mode: 0o755 } }),
  ];
  const entries: WriteEntry[] = [{ entry: { ...base, name: 'd', type: 'dir', mode: 0o755 } }];
  const seen = new Set<string>(['d']);
  for (let n = 1 + rng.int(8); n > 0; n--) {
    const e = rng.pick(pool)();
    if (seen.has(e.entry.name)) continue;
    seen.add(e.entry.name);
    // A hardlink needs its target first.
    if (e.entry.type === 'hardlink' && !seen.has('d/f')) {
      seen.add('d/f');
      entries.push(pool[0]!());
    }
    entries.push(e);
  }
  return collect(writeTar(entries));
}

const FIELDS: Record<string, readonly [number, number]> = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  linkname: [157, 100],
  magic: [257, 8],
  uname: [265, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
};

/** Values a numeric field may hold that a careless reader gets wrong. */
function hostileNumber(rng: Random, width: number): Buffer {
  const field = Buffer.alloc(width);
  switch (rng.int(8)) {
    case 0: // GNU base-256, negative
      field.fill(0xff);
      field[width - 1] = rng.int(256);
      break;
    case 1: // GNU base-256, huge positive
      field[0] = 0x80;
      for (let i = 1; i < width; i++) field[i] = rng.int(256);
      break;
    case 2: // all octal sevens
      field.fill(0x37, 0, width - 1);
      break;
    case 3: // not digits
      field.write(rng.pick(['-1', '8', '9x', 'zz', ' 1 2', '\x01']), 'latin1');
      break;
    case 4: // spaces only
      field.fill(0x20);
      break;
    case 5: // no terminator
      field.fill(0x31);
      break;
    case 6: // random bytes
      rng.bytes(width).copy(field);
      break;
    default: // a plausible small number
      field.write(
        `${rng
          .int(0o7777)
          .toString(8)
          .padStart(width - 1, '0')}\0`,
        'latin1',
      );
  }
  return field;
}

const PAX_KEYS = [
  'path',
  'linkpath',
  'size',
  'uid',
  'gid',
  'mtime',
  'uname',
  'SCHILY.xattr.user.k',
  'SCHILY.xattr.bogus.ns',
  'SCHILY.xattr.trusted.overlay.opaque',
  'SCHILY.xattr.',
  'LIBARCHIVE.xattr.user.%00x',
  'LIBARCHIVE.xattr.user.ok',
  'GNU.sparse.size',
  'RHT.security.selinux',
];

function hostilePaxValue(rng: Random): Buffer {
  const digits = (n: number) => '9'.repeat(n);
  return Buffer.from(
    rng.pick([
      '',
      '0',
      '-1',
      digits(400),
      `-${digits(400)}`,
      `1.${digits(30)}`,
      '1e400',
      '18446744073709551616',
      '4294967295',
      '9007199254740993',
      'a\0b',
      '../../../etc/passwd',
      '/abs',
      'x'.repeat(70_000),
      'bm90IGJhc2U2NA==',
      '%zz',
      'line\nbreak',
    ]),
    'utf8',
  );
}

/** A PAX 'x' header (and its records) that applies to the header after it. */
function paxHeader(rng: Random): Buffer {
  const records = encodePaxRecords(
    Array.from({ length: 1 + rng.int(3) }, () => [rng.pick(PAX_KEYS), hostilePaxValue(rng)] as const),
  );
  const header = encodeHeader({
    name: 'PaxHeaders/x',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: 0,
  });
  header.write(rng.pick(['x', 'x', 'g', 'X']), 156, 'latin1');
  fixChecksum(header);
  return Buffer.concat([header, records, paddingFor(records.length)]);
}

/** Offsets of the blocks of `tar` whose checksum holds: the headers a mutation can aim at. */
function headerOffsets(tar: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + BLOCK <= tar.length; at += BLOCK) {
    const block = tar.subarray(at, at + BLOCK);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    const stored = parseInt(block.toString('latin1', 148, 155).replace(/\0.*$/, ''), 8);
    if (stored === sum && sum !== 8 * 0x20) out.push(at);
  }
  return out;
}

export function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
}

/** `tar` with 1–3 mutations; most keep the header checksums right, so the reader goes further. */
export function mutateTar(rng: Random, input: Buffer): Buffer {
  let tar = Buffer.from(input);
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const headers = headerOffsets(tar);
    const at = headers.length > 0 ? rng.pick(headers) : 0;
    switch (rng.int(9)) {
      case 0:
      case 1:
      case 2: {
        if (tar.length < at + BLOCK) break;
        const block = tar.subarray(at, at + BLOCK);
        const name = rng.pick(Object.keys(FIELDS));
        const [offset, width] = FIELDS[name]!;
        if (name === 'name' || name === 'linkname' || name === 'prefix' || name === 'uname') {
          const text = rng.pick(['../../x', '/abs', '', 'd/.wh.', 'a/./b', 'd//x', 'd/f', '.', 'x\x01y']);
          block.fill(0, offset, offset + width);
          block.write(text, offset, width, 'latin1');
        } else if (name === 'magic') {
          block.write(rng.pick(['ustar\x0000', 'ustar  \0', 'nothing!']), offset, width, 'latin1');
        } else hostileNumber(rng, width).copy(block, offset);
        if (rng.chance(0.3)) block.write(rng.pick([...'0123456LKxgSVMNDA7\0']), 156, 'latin1');
        if (rng.chance(0.9)) fixChecksum(block);
        break;
      }
      case 3:
        tar = Buffer.concat([tar.subarray(0, at), paxHeader(rng), tar.subarray(at)]);
        break;
      case 4:
        tar = tar.subarray(0, rng.int(tar.length + 1));
        break;
      case 5: {
        const from = rng.int(Math.max(1, tar.length / BLOCK)) * BLOCK;
        const to = from + BLOCK * (1 + rng.int(3));
        tar = rng.chance(0.5)
          ? Buffer.concat([tar.subarray(0, to), tar.subarray(from, to), tar.subarray(to)])
          : Buffer.concat([tar.subarray(0, from), tar.subarray(to)]);
        break;
      }
      case 6:
        tar = Buffer.concat([tar, rng.bytes(rng.int(2 * BLOCK))]);
        break;
      default: {
        if (tar.length === 0) break;
        for (let k = 1 + rng.int(4); k > 0; k--) {
          const i = rng.int(tar.length);
          tar[i] = tar[i]! ^ (1 << rng.int(8));
        }
      }
    }
  }
  return tar;
}

/** A tar of one entry preceded by a PAX 'x' header of `records`, as a hostile writer makes it. */
export function tarWithPax(
  records: [string, string | Buffer][],
  entry: Partial<TarEntry> & { name: string },
): Buffer {
  const data = encodePaxRecords(records.map(([k, v]) => [k, Buffer.from(v)] as const));
  const pax = encodeHeader({
    name: 'PaxHeaders/x',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: 0,
  });
  pax.write('x', 156, 'latin1');
  fixChecksum(pax);
  const header = encodeHeader({ type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, ...entry });
  return Buffer.concat([pax, data, paddingFor(data.length), header, END_OF_ARCHIVE]);
}
