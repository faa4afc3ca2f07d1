import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChecksumCache } from './checksum-cache.js';
import { walkContext } from './walk.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A hashFile that counts the files it reads. */
function countingHasher(): { hashFile: (p: string) => string; reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    hashFile: (p: string) => {
      reads.push(p);
      return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    },
  };
}

/** Lets the racy window pass, so the hashes just taken are trusted on the next run. */
const settle = (): Promise<void> => sleep(80);

test('checksum ignores mtime but covers content, mode, owner, link target and path', async () => {
  const root = tempDir('skiff-ck-');
  const cacheDir = tempDir('skiff-ck-cache-');
  fs.writeFileSync(path.join(root, 'a'), 'hello');
  fs.mkdirSync(path.join(root, 'd'));
  fs.symlinkSync('a', path.join(root, 'l'));
  await settle();
  const sum = async (paths = ['a', 'd', 'l'], options = {}): Promise<string> =>
    ChecksumCache.open(root, { cacheDir }).checksum(paths, options);
  const base = await sum();
  assert.match(base, /^sha256:[0-9a-f]{64}$/);

  fs.utimesSync(path.join(root, 'a'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  assert.equal(await sum(), base, 'mtime is not part of the checksum');
  assert.notEqual(await sum(['a', 'd', 'l'], { uid: 1000 }), base);
  assert.notEqual(await sum(['a', 'd', 'l'], { gid: 1000 }), base);
  assert.notEqual(await sum(['a', 'd', 'l'], { chmod: 0o600 }), base);
  assert.notEqual(await sum(['d', 'a', 'l']), base, 'order matters');
  fs.chmodSync(path.join(root, 'a'), 0o600);
  const chmodded = await sum();
  assert.notEqual(chmodded, base);
  fs.rmSync(path.join(root, 'l'));
  fs.symlinkSync('d', path.join(root, 'l'));
  assert.notEqual(await sum(), chmodded, 'link target counts');
  fs.writeFileSync(path.join(root, 'a'), 'HELLO');
  assert.notEqual(await sum(['a']), await sum(['d']));
});

test('equal trees in different places have equal checksums', async () => {
  const cacheDir = tempDir('skiff-ck-cache-');
  const sums: string[] = [];
  for (let i = 0; i < 2; i++) {
    const root = tempDir('skiff-ck-');
    fs.mkdirSync(path.join(root, 'src'));
    fs.writeFileSync(path.join(root, 'src/x.js'), 'x');
    fs.chmodSync(path.join(root, 'src'), 0o755);
    fs.chmodSync(path.join(root, 'src/x.js'), 0o644);
    sums.push(await ChecksumCache.open(root, { cacheDir }).checksum(['src', 'src/x.js']));
  }
  assert.equal(sums[0], sums[1]);
});

test('same size, mtime put back with utimes: the new ctime still gives the edit away', async () => {
  const root = tempDir('skiff-ck-');
  const cacheDir = tempDir('skiff-ck-cache-');
  const file = path.join(root, 'config.txt');
  fs.writeFileSync(file, 'value=1');
  await settle();
  const { hashFile, reads } = countingHasher();
  const first = ChecksumCache.open(root, { cacheDir, hashFile });
  const before = await first.checksum(['config.txt']);
  first.save();

  const { mtime, atime } = fs.statSync(file);
  const ctimeBefore = fs.statSync(file, { bigint: true }).ctimeNs;
  await settle();
  fs.writeFileSync(file, 'value=2');
  fs.utimesSync(file, atime, mtime);
  const after = fs.statSync(file, { bigint: true });
  assert.equal(after.mtimeNs, fs.statSync(file, { bigint: true }).mtimeNs);
  assert.equal(after.size, 7n);
  assert.notEqual(after.ctimeNs, ctimeBefore, 'utimes moves the ctime');

  const second = ChecksumCache.open(root, { cacheDir, hashFile });
  assert.notEqual(await second.checksum(['config.txt']), before);
  assert.equal(reads.length, 2, 'the edited file was read again');
});

test('a file changed just now is not trusted from the cache (racy window)', async () => {
  const root = tempDir('skiff-ck-');
  const cacheDir = tempDir('skiff-ck-cache-');
  fs.writeFileSync(path.join(root, 'fresh'), 'x');
  const { hashFile, reads } = countingHasher();
  const cache = ChecksumCache.open(root, { cacheDir, hashFile });
  await cache.checksum(['fresh']);
  await cache.checksum(['fresh']);
  assert.equal(reads.length, 2);
  await settle();
  await cache.checksum(['fresh']);
  await cache.checksum(['fresh']);
  assert.equal(reads.length, 3, 'once settled, the third hash is kept and reused');
});

test('a missing path is an error naming it; a corrupt cache file is an empty cache', async () => {
  const root = tempDir('skiff-ck-');
  const cacheDir = tempDir('skiff-ck-cache-');
  fs.writeFileSync(path.join(root, 'a'), 'a');
  await assert.rejects(
    ChecksumCache.open(root, { cacheDir }).checksum(['nope/x']),
    /checksum build context `nope\/x`: no such file or directory/,
  );
  const cache = ChecksumCache.open(root, { cacheDir });
  fs.writeFileSync(cache.file, '{not json');
  const again = ChecksumCache.open(root, { cacheDir });
  assert.match(await again.checksum(['a']), /^sha256:/);
});

test('10,000 unchanged files: no file is read again, and the time is printed', async () => {
  const root = tempDir('skiff-ck-big-');
  const cacheDir = tempDir('skiff-ck-cache-');
  for (let d = 0; d < 100; d++) {
    fs.mkdirSync(path.join(root, `dir${d}`));
    for (let f = 0; f < 100; f++)
      fs.writeFileSync(path.join(root, `dir${d}`, `file${f}.txt`), `content ${d}/${f}\n`);
  }
  await settle();

  const cold = countingHasher();
  const first = ChecksumCache.open(root, { cacheDir, hashFile: cold.hashFile });
  const entries = await walkContext(root);
  assert.equal(entries.length, 10_100);
  const digest = await first.checksum(entries);
  assert.equal(cold.reads.length, 10_000);
  first.prune(entries.map((e) => e.path));
  first.save();

  const warm = countingHasher();
  let t = process.hrtime.bigint();
  const second = ChecksumCache.open(root, { cacheDir, hashFile: warm.hashFile });
  const openMs = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  const walked = await walkContext(root);
  const walkMs = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  assert.equal(await second.checksum(walked), digest);
  const sumMs = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  assert.equal(await second.checksum(walked.map((e) => e.path)), digest);
  const sumPathsMs = Number(process.hrtime.bigint() - t) / 1e6;
  assert.equal(warm.reads.length, 0, 'no unchanged file was read');
  assert.equal(second.hits, 20_000);
  console.log(
    `# 10,000 unchanged files: load cache ${openMs.toFixed(1)} ms, walk ${walkMs.toFixed(1)} ms, ` +
      `checksum of walked entries ${sumMs.toFixed(1)} ms, checksum of bare paths (lstat each) ${sumPathsMs.toFixed(1)} ms`,
  );

  // One edit among thousands: exactly one read.
  fs.appendFileSync(path.join(root, 'dir42/file7.txt'), 'more');
  const third = ChecksumCache.open(root, { cacheDir, hashFile: warm.hashFile });
  assert.notEqual(await third.checksum(await walkContext(root)), digest);
  assert.deepEqual(warm.reads, [path.join(third.root, 'dir42/file7.txt')]);
});
