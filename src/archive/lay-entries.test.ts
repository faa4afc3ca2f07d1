import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { DataLoss, InvalidArgument } from '../util/errors.js';
import { applyLayer } from './apply-layer.js';
import { layEntries, type LayEntry } from './lay-entries.js';
import type { TarEntry } from './tar-header.js';
import { TarSplitWriter, reassembleTar } from './tar-split.js';
import { writeTar } from './tar-writer.js';
import { needs } from '../util/test-requirements.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-lay-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const MTIME = 1_700_000_000;
const big = randomBytes((3 << 20) + 5);
const bigFile = path.join(tmp, 'big.bin');
fs.writeFileSync(bigFile, big);

function entry(name: string, type: TarEntry['type'], more: Partial<TarEntry> = {}): TarEntry {
  return { name, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0, mtime: MTIME, ...more };
}

function entries(): LayEntry[] {
  return [
    { entry: entry('app/', 'dir', { mode: 0o750, uid: 7, gid: 8 }) },
    { entry: entry('app/a.txt', 'file', { size: 6, mode: 0o4755 }), body: Buffer.from('alpha\n') },
    { entry: entry('app/empty', 'file') },
    // A big file given by path: copied by the kernel, hashed from the source.
    {
      entry: entry('app/big.bin', 'file', { size: big.length, mode: 0o600 }),
      body: fs.createReadStream(bigFile),
      source: bigFile,
    },
    { entry: entry('app/link', 'symlink', { mode: 0o777, linkname: 'a.txt' }) },
    { entry: entry('app/hard', 'hardlink', { linkname: 'app/a.txt' }) },
    { entry: entry('app/sub/', 'dir', { mode: 0o700 }) },
  ];
}

function sha256(chunks: Buffer[]): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

test(
  'laid entries hash as the tar writeTar makes, and leave the tree applyLayer would',
  { skip: needs('root') },
  async () => {
    const tarChunks: Buffer[] = [];
    for await (const c of writeTar(entries().map(({ entry, body }) => ({ entry, body })))) tarChunks.push(c);
    const viaTar = path.join(tmp, 'via-tar');
    fs.mkdirSync(viaTar);
    await applyLayer(
      (async function* () {
        yield* tarChunks;
      })(),
      viaTar,
    );

    const laid = path.join(tmp, 'laid');
    fs.mkdirSync(laid);
    const laidChunks: Buffer[] = [];
    const split = new TarSplitWriter(path.join(tmp, 'laid.split'));
    const result = await layEntries(entries(), laid, {
      onBytes: (b) => laidChunks.push(Buffer.from(b)),
      recorder: split,
    });
    await split.close();
    assert.equal(result.entries, 7);
    assert.equal(sha256(laidChunks), sha256(tarChunks), 'the same bytes as the tar');

    const rebuilt: Buffer[] = [];
    for await (const c of reassembleTar(path.join(tmp, 'laid.split'), laid)) rebuilt.push(c);
    assert.equal(sha256(rebuilt), sha256(tarChunks), 'tar-split gives the tar back');

    for (const rel of ['app', 'app/a.txt', 'app/empty', 'app/big.bin', 'app/link', 'app/hard', 'app/sub']) {
      const a = fs.lstatSync(path.join(laid, rel));
      const b = fs.lstatSync(path.join(viaTar, rel));
      assert.deepEqual(
        [a.mode, a.uid, a.gid, a.size, Math.floor(a.mtimeMs / 1000), a.nlink],
        [b.mode, b.uid, b.gid, b.size, Math.floor(b.mtimeMs / 1000), b.nlink],
        rel,
      );
    }
    assert.ok(fs.readFileSync(path.join(laid, 'app/big.bin')).equals(big));
  },
);

test('refuses names that leave the root, entries before their directory, and sources that lie', async () => {
  const cases: [LayEntry[], RegExp][] = [
    [[{ entry: entry('../escape', 'file') }], /not a clean relative name/],
    [[{ entry: entry('/abs', 'file') }], /not a clean relative name/],
    [[{ entry: entry('missing/file', 'file') }], /comes before its directory/],
    [[{ entry: entry('f', 'fifo') }], /a fifo is not for a copied layer/],
    [
      [{ entry: entry('h', 'hardlink', { linkname: 'nothing' }) }],
      /hard link `h` to a file not written before/,
    ],
  ];
  for (const [n, [list, error]] of cases.entries()) {
    const root = path.join(tmp, `bad-${n}`);
    fs.mkdirSync(root);
    await assert.rejects(layEntries(list, root, { onBytes: () => {} }), (err: Error) => {
      assert.ok(err instanceof InvalidArgument, String(err));
      assert.match(err.message, error);
      return true;
    });
  }
  const root = path.join(tmp, 'short');
  fs.mkdirSync(root);
  await assert.rejects(
    layEntries([{ entry: entry('f', 'file', { size: 10 }), body: Buffer.from('short') }], root, {
      onBytes: () => {},
    }),
    DataLoss,
  );
  assert.equal(fs.existsSync(path.join(tmp, 'escape')), false);
});
