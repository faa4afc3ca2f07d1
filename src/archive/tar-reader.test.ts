import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DataLoss, FailedPrecondition, InvalidArgument } from '../util/errors.js';
import { encodePaxRecords } from './pax.js';
import { encodeHeader, END_OF_ARCHIVE, paddingFor, type TarEntry } from './tar-header.js';
import { readTar } from './tar-reader.js';
import { writeTar } from './tar-writer.js';
import { asyncChunks, readAll } from './tar-testing.js';

async function expectError(archive: Buffer, kind: typeof DataLoss | typeof InvalidArgument, message: RegExp) {
  for (const size of [1, 509, 65536]) {
    await assert.rejects(readAll(archive, size), (err: unknown) => {
      assert.ok(err instanceof kind, `${String(err)} is a ${kind.name}`);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
}

function entry(name: string, more: Partial<TarEntry> = {}): TarEntry {
  return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000, ...more };
}

/** A ustar header (and maybe data after it) with some bytes changed and the checksum fixed. */
function patched(block: Buffer, patch: (b: Buffer) => void): Buffer {
  const out = Buffer.from(block);
  patch(out);
  out.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of out.subarray(0, 512)) sum += byte;
  out.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return out;
}

/** An extended header ('x', 'g', 'L', 'K') with `data`, padded. */
function meta(typeflag: string, data: Buffer): Buffer {
  const block = patched(encodeHeader(entry('meta', { size: data.length })), (b) =>
    b.write(typeflag, 156, 'latin1'),
  );
  return Buffer.concat([block, data, paddingFor(data.length)]);
}

function withData(e: TarEntry, data: Buffer): Buffer {
  return Buffer.concat([encodeHeader({ ...e, size: data.length }), data, paddingFor(data.length)]);
}

describe('readTar', () => {
  const a = withData(entry('a'), Buffer.from('abc'));
  const b = withData(entry('b'), Buffer.from('defgh'));

  test('typeflags NUL and 7 are files; NUL with a trailing slash is a directory', async () => {
    const archive = Buffer.concat([
      patched(withData(entry('nul'), Buffer.from('x')), (h) => (h[156] = 0)),
      patched(withData(entry('contig'), Buffer.from('y')), (h) => h.write('7', 156, 'latin1')),
      patched(encodeHeader(entry('olddir/')), (h) => (h[156] = 0)),
      END_OF_ARCHIVE,
    ]);
    const got = await readAll(archive, 3);
    assert.deepEqual(
      got.map(({ entry: e, data }) => [e.name, e.type, data.toString()]),
      [
        ['nul', 'file', 'x'],
        ['contig', 'file', 'y'],
        ['olddir/', 'dir', ''],
      ],
    );
  });

  test('base-256 numeric fields', async () => {
    const header = patched(encodeHeader(entry('big', { size: 5 })), (h) => {
      h.fill(0, 108, 116)[108] = 0x80; // uid: 0x80 marks base-256, then big-endian
      h.writeUInt32BE(3_000_000_000, 112);
      h.fill(0, 124, 136)[124] = 0x80;
      h[135] = 5;
      h.fill(0xff, 136, 148)[147] = 0xfe; // mtime: two's complement -2
    });
    const [got] = await readAll(Buffer.concat([header, Buffer.from('hello'), paddingFor(5), END_OF_ARCHIVE]));
    assert.deepEqual([got!.entry.uid, got!.entry.size, got!.entry.mtime], [3_000_000_000, 5, -2]);
    assert.equal(got!.data.toString(), 'hello');
  });

  test('PAX: global headers, local overrides, empty values, libarchive xattrs', async () => {
    const archive = Buffer.concat([
      meta(
        'g',
        encodePaxRecords([
          ['uname', Buffer.from('global')],
          ['SCHILY.xattr.user.g', Buffer.from('G')],
        ]),
      ),
      meta(
        'x',
        encodePaxRecords([
          ['path', Buffer.from('renamed/é')],
          ['mtime', Buffer.from('12.5')],
        ]),
      ),
      withData(entry('a'), Buffer.from('abc')),
      meta(
        'x',
        encodePaxRecords([
          ['uname', Buffer.alloc(0)],
          ['LIBARCHIVE.xattr.user.a%3Db', Buffer.from('AP8=')],
        ]),
      ),
      withData(entry('b', { uname: 'local' }), Buffer.from('defgh')),
      meta('g', encodePaxRecords([['uname', Buffer.alloc(0)]])),
      encodeHeader(entry('c', { uname: 'own' })),
      END_OF_ARCHIVE,
    ]);
    const got = await readAll(archive, 5);
    assert.deepEqual(
      got.map(({ entry: e }) => [e.name, e.uname, e.mtime]),
      [
        ['renamed/é', 'global', 12.5],
        ['b', 'local', 1_700_000_000],
        ['c', 'own', 1_700_000_000],
      ],
    );
    assert.deepEqual(got[0]!.entry.xattrs, new Map([['user.g', Buffer.from('G')]]));
    assert.deepEqual(
      got[1]!.entry.xattrs,
      new Map([
        ['user.g', Buffer.from('G')],
        ['user.a=b', Buffer.from([0, 0xff])],
      ]),
    );
  });

  test('a body read after the reader moved on fails', async () => {
    const reader = readTar(asyncChunks(Buffer.concat([a, b, END_OF_ARCHIVE]), 512));
    const iterator = reader[Symbol.asyncIterator]();
    const first = await iterator.next();
    await iterator.next();
    await assert.rejects(async () => {
      for await (const _ of first.value.body);
    }, FailedPrecondition);
    assert.throws(() => reader.trailer, FailedPrecondition);
    await iterator.return?.();
  });

  test('bad header checksum', async () => {
    const bad = Buffer.concat([a, b, END_OF_ARCHIVE]);
    bad[1024 + 140] = 0x37; // a digit of b's mtime
    await expectError(
      bad,
      InvalidArgument,
      /^read tar: entry `b` at byte 1024: header checksum 0o\d+ does not match/,
    );
  });

  test('truncated in a header, in data, and in padding', async () => {
    const whole = Buffer.concat([a, b, END_OF_ARCHIVE]);
    await expectError(
      whole.subarray(0, 1024 + 100),
      DataLoss,
      /^read tar: header at byte 1024 \(after entry `a`\): truncated after 100 of 512 bytes$/,
    );
    await expectError(
      whole.subarray(0, 1536 + 2),
      DataLoss,
      /^read tar: entry `b` at byte 1536: data truncated after 2 of 5 bytes$/,
    );
    await expectError(
      whole.subarray(0, 1536 + 100),
      DataLoss,
      /^read tar: entry `b` at byte 1536: padding truncated/,
    );
  });

  test('missing end-of-archive marker', async () => {
    await expectError(
      Buffer.concat([a, b]),
      DataLoss,
      /^read tar: header at byte 2048 \(after entry `b`\): missing end-of-archive marker/,
    );
    await expectError(
      Buffer.alloc(0),
      DataLoss,
      /^read tar: header at byte 0: missing end-of-archive marker/,
    );
  });

  test('one zero block ends the archive; bytes after it go to the trailer', async () => {
    const archive = Buffer.concat([a, Buffer.alloc(512), Buffer.from('junk after the end')]);
    const reader = readTar(asyncChunks(archive, 100));
    for await (const _ of reader);
    assert.equal(reader.trailer.toString('latin1', 509 + 512), 'junk after the end');
  });

  test('malformed PAX records', async () => {
    for (const data of ['garbage\n', '10 path=ab', '99 path=a\n', '6 =ab\n', '9 pathab\n']) {
      await expectError(
        Buffer.concat([meta('x', Buffer.from(data)), a, END_OF_ARCHIVE]),
        InvalidArgument,
        /^read tar: entry `meta` at byte 0: malformed PAX record at offset 0: /,
      );
    }
    const notNumber = meta('x', encodePaxRecords([['size', Buffer.from('12x')]]));
    await expectError(
      Buffer.concat([notNumber, a, END_OF_ARCHIVE]),
      InvalidArgument,
      /^read tar: entry `a` at byte 1024: PAX record `size=12x` is not an integer$/,
    );
    await expectError(
      Buffer.concat([meta('x', encodePaxRecords([['path', Buffer.from('p')]])), END_OF_ARCHIVE]),
      InvalidArgument,
      /extended header not followed by an entry/,
    );
  });

  test('typeflags that cannot be skipped safely', async () => {
    const sparse = patched(encodeHeader(entry('holes', { size: 0 })), (h) => h.write('S', 156, 'latin1'));
    await expectError(
      Buffer.concat([a, sparse, END_OF_ARCHIVE]),
      InvalidArgument,
      /^read tar: entry `holes` at byte 1024: unsupported typeflag "S" \(GNU sparse file\)$/,
    );
    const odd = patched(encodeHeader(entry('odd')), (h) => h.write('Q', 156, 'latin1'));
    await expectError(
      Buffer.concat([odd, END_OF_ARCHIVE]),
      InvalidArgument,
      /entry `odd` at byte 0: unsupported typeflag "Q"/,
    );
  });

  test('a bad numeric field', async () => {
    const bad = patched(encodeHeader(entry('f')), (h) => h.write('12x4567\0', 124, 'latin1'));
    await expectError(
      Buffer.concat([bad, END_OF_ARCHIVE]),
      InvalidArgument,
      /entry `f` at byte 0: field `size` is not a number/,
    );
  });

  test('GNU long name and long link headers', async () => {
    const longName = `${'n'.repeat(150)}/file`;
    const target = 't'.repeat(300);
    const archive = Buffer.concat([
      meta('L', Buffer.from(`${longName}\0`)),
      meta('K', Buffer.from(`${target}\0`)),
      encodeHeader(entry('short', { type: 'symlink', linkname: 'x' })),
      END_OF_ARCHIVE,
    ]);
    const [got] = await readAll(archive, 13);
    assert.deepEqual([got!.entry.name, got!.entry.linkname], [longName, target]);
  });

  test('an aborted signal stops reading', async () => {
    const controller = new AbortController();
    controller.abort();
    const reader = readTar(asyncChunks(Buffer.concat([a, END_OF_ARCHIVE]), 512), {
      signal: controller.signal,
    });
    await assert.rejects(async () => {
      for await (const _ of reader);
    }, /abort/i);
  });

  test('written archives read back with the writer', async () => {
    const entries = [{ entry: entry('x', { size: 3 }), body: Buffer.from('xyz') }];
    const chunks: Buffer[] = [];
    for await (const chunk of writeTar(entries)) chunks.push(chunk);
    const [got] = await readAll(Buffer.concat(chunks), 1);
    assert.equal(got!.data.toString(), 'xyz');
  });
});
