/**
 * skiff's tar codec against GNU tar on the same tree, in one run: packing a directory into a
 * layer tar (packDir vs `tar -cf - . | cat`, a pipe, since `-f /dev/null` makes GNU tar skip
 * reading file data), and unpacking one (applyLayer vs `tar -xf`) from a tar in the page cache.
 *
 *   node dist/bench/tar-codec.js [--small]
 *
 * Full: 20,000 files of 256 B–8 KiB in 200 directories plus 4 files of 50 MB (2 random, 2
 * text-like). --small: 2,000 files in 20 directories plus 2 files of 10 MB. Needs root (GNU tar
 * restores owners as root, and so does applyLayer). Median of 3 runs each, after a warm-up run.
 * Everything happens under os.tmpdir(): on a slow disk, creating files dominates both tools'
 * extract times, so TMPDIR=/dev/shm measures the codecs rather than the disk.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyLayer } from '../src/archive/apply-layer.js';
import { packDir } from '../src/archive/pack-dir.js';
import { TarSplitWriter, reassembleTar } from '../src/archive/tar-split.js';

const MB = 1e6;
const RUNS = 3;
const small = process.argv.includes('--small');
const shape = small
  ? {
      files: 2_000,
      dirs: 20,
      big: [
        ['random', 10],
        ['text', 10],
      ] as const,
    }
  : {
      files: 20_000,
      dirs: 200,
      big: [
        ['random', 50],
        ['random', 50],
        ['text', 50],
        ['text', 50],
      ] as const,
    };

interface Row {
  what: string;
  files: number;
  bytes: number;
  skiff: number;
  gnu: number;
}

function sh(command: string): void {
  const result = spawnSync('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`\`${command}\` exited with status ${result.status}`);
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Median of RUNS timed runs, after one untimed run that warms the JIT and the caches. */
async function time(run: () => unknown, before?: () => void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    before?.();
    const start = performance.now();
    await run();
    if (i > 0) times.push((performance.now() - start) / 1000);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

const FS_TYPES: Record<number, string> = {
  0x01021994: 'tmpfs',
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
};

/** A small deterministic generator, so every run packs the same sizes. */
function sizes(count: number): number[] {
  let x = 0x2545f491;
  return Array.from({ length: count }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return 256 + ((x >>> 0) % (8 * 1024 - 256));
  });
}

function textLike(bytes: number): Buffer {
  const words = ['layer', 'image', 'digest', 'manifest', 'config', 'blob', 'tar', 'gzip', 'entry', 'index'];
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const line = `${i} ${words[i % 10]} ${words[(i * 7) % 10]} ${words[(i * 3) % 10]} ${(i * 2654435761) % 1e6}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

function buildTree(root: string): { smallDir: string; files: number } {
  const smallDir = path.join(root, 'small');
  const pool = Buffer.concat([randomBytes(4 << 20), textLike(4 << 20)]);
  let at = 0;
  sizes(shape.files).forEach((size, i) => {
    const dir = path.join(smallDir, `dir-${String(i % shape.dirs).padStart(3, '0')}`);
    if (i < shape.dirs) fs.mkdirSync(dir, { recursive: true });
    if (at + size > pool.length) at = 0;
    fs.writeFileSync(path.join(dir, `file-${i}`), pool.subarray(at, at + size));
    at += size * 7;
  });
  const bigDir = path.join(root, 'big');
  fs.mkdirSync(bigDir);
  shape.big.forEach(([kind, mb], i) => {
    const file = path.join(bigDir, `${kind}-${i}`);
    const fd = fs.openSync(file, 'w');
    const block = kind === 'random' ? randomBytes(MB) : textLike(MB);
    for (let j = 0; j < mb; j++) fs.writeSync(fd, block);
    fs.closeSync(fd);
  });
  return { smallDir, files: shape.files + shape.big.length };
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-tar-'));
  try {
    const tree = path.join(work, 'tree');
    const { smallDir, files } = buildTree(tree);
    const rows: Row[] = [];

    const count = async (chunks: AsyncIterable<Buffer>): Promise<number> => {
      let bytes = 0;
      for await (const chunk of chunks) bytes += chunk.length;
      return bytes;
    };
    const create = async (what: string, dir: string, n: number): Promise<void> => {
      const bytes = await count(packDir(dir));
      const skiff = await time(() => count(packDir(dir)));
      const gnu = await time(() => sh(`tar -C ${quote(dir)} -cf - . | cat > /dev/null`));
      rows.push({ what, files: n, bytes, skiff, gnu });
    };
    await create('create, small files', smallDir, shape.files);
    await create('create, whole tree', tree, files);

    let fresh = 0;
    const target = (): string => {
      const dir = path.join(work, `out-${fresh++}`);
      fs.mkdirSync(dir);
      return dir;
    };
    // Untimed between runs: the last run's output is removed and flushed so writeback does not land in the next one.
    const reset = (): void => {
      for (const name of fs.readdirSync(work)) {
        if (name.startsWith('out-')) fs.rmSync(path.join(work, name), { recursive: true });
      }
      sh('sync');
    };
    const extract = async (what: string, dir: string, n: number, split = false): Promise<void> => {
      const file = path.join(work, `${path.basename(dir)}.tar`);
      if (!fs.existsSync(file))
        sh(`tar -C ${quote(dir)} -cf ${quote(file)} . && cat ${quote(file)} > /dev/null`);
      const bytes = fs.statSync(file).size;
      const skiff = await time(async () => {
        const source = fs.createReadStream(file, { highWaterMark: 1 << 20 });
        if (!split) return applyLayer(source, target());
        const writer = new TarSplitWriter(path.join(work, `out-${fresh}.split`));
        try {
          await applyLayer(source, target(), { recorder: writer });
        } finally {
          await writer.close();
        }
      }, reset);
      const gnu = await time(() => sh(`tar -xf ${quote(file)} -C ${quote(target())}`), reset);
      rows.push({ what, files: n, bytes, skiff, gnu });
    };
    await extract('extract, small files', smallDir, shape.files);
    await extract('extract, whole tree', tree, files);
    await extract('extract + tar-split, whole tree', tree, files, true);

    reset();
    const layer = target();
    const split = path.join(work, 'layer.split');
    const writer = new TarSplitWriter(split);
    await applyLayer(fs.createReadStream(path.join(work, 'tree.tar')), layer, { recorder: writer });
    await writer.close();
    const rebuilt = await count(reassembleTar(split, layer));
    const skiff = await time(() => count(reassembleTar(split, layer)));
    const gnu = await time(() => sh(`tar -C ${quote(layer)} -cf - . | cat > /dev/null`));
    rows.push({ what: 'reassemble (vs tar -c), whole tree', files, bytes: rebuilt, skiff, gnu });

    const type = fs.statfsSync(work).type;
    print(rows, `${work} (${FS_TYPES[type] ?? `fs 0x${type.toString(16)}`})`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function print(rows: Row[], where: string): void {
  const header = [
    '',
    'skiff s',
    'GNU s',
    'skiff files/s',
    'GNU files/s',
    'skiff MB/s',
    'GNU MB/s',
    'skiff/GNU',
  ];
  const body = rows.map((r) => [
    r.what,
    r.skiff.toFixed(3),
    r.gnu.toFixed(3),
    Math.round(r.files / r.skiff).toLocaleString('en-US'),
    Math.round(r.files / r.gnu).toLocaleString('en-US'),
    Math.round(r.bytes / MB / r.skiff).toString(),
    Math.round(r.bytes / MB / r.gnu).toString(),
    `${(r.skiff / r.gnu).toFixed(2)}x time`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const size = rows[1]!.bytes / MB;
  console.log(
    `tar codec: ${shape.files} files in ${shape.dirs} dirs + ${shape.big.length} big files, ` +
      `${size.toFixed(0)} MB of tar; in ${where}; median of ${RUNS}; ${os.cpus().length} cores`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of body) console.log(line(row));
}

await main();
