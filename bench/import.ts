/**
 * `skiff import` against `podman import` on the same rootfs tarball, in one run.
 *
 *   node dist/bench/import.js [--mb 200] [--runs 3]
 *
 * The tarball: about --mb MB in ~2,000 files, half random bytes and half real text (files from
 * /usr/include and /usr/share concatenated, so it compresses like source and docs do). Each
 * timed run starts from an empty store: a fresh skiff root, a fresh private podman store
 * (overlay driver, podman's default; vfs if overlay is unavailable here). Both read the tar from
 * the page cache; times are wall-clock for the whole command, process start included. Prints
 * the median of --runs runs. Needs root (podman's store, skiff's layer ownership). Not a test.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { textCorpus } from './text-corpus.js';
import { podman, skiff, type Podman } from '../tests/helpers.js';

const MB = 1e6;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: expected a positive number`);
  return value;
}

const totalMB = flag('--mb', 200);
const runs = flag('--runs', 3);
const FILES = 2_000;

/** The rootfs tree: FILES files, half random, half text, in directories of 100. */
function makeTree(dir: string, bytes: number): void {
  const half = FILES / 2;
  const perFile = Math.floor(bytes / FILES);
  const corpus = textCorpus(Math.min(bytes / 2, 64 * MB));
  let offset = 0;
  for (let i = 0; i < FILES; i++) {
    const random = i < half;
    const sub = path.join(
      dir,
      random ? 'usr/lib/bench' : 'usr/share/bench',
      String(Math.floor((i % half) / 100)),
    );
    fs.mkdirSync(sub, { recursive: true });
    let data: Buffer;
    if (random) data = randomBytes(perFile);
    else {
      // The corpus, read on from where the last file stopped and wrapped round: concatenated real files.
      const chunks: Buffer[] = [];
      let need = perFile;
      while (need > 0) {
        const take = Math.min(need, corpus.length - offset);
        chunks.push(corpus.subarray(offset, offset + take));
        need -= take;
        offset = (offset + take) % corpus.length;
      }
      data = Buffer.concat(chunks);
    }
    fs.writeFileSync(path.join(sub, random ? `r${i}.bin` : `t${i}.txt`), data);
  }
  fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'etc', 'hostname'), 'bench\n');
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/import needs root (podman store, layer ownership)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-import-'));
  const stores: Podman[] = [];
  try {
    const tree = path.join(work, 'tree');
    const tar = path.join(work, 'rootfs.tar');
    makeTree(tree, totalMB * MB);
    const packed = spawnSync('tar', ['-C', tree, '--numeric-owner', '-cf', tar, '.'], { encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`tar -c: ${packed.stderr}`);
    fs.rmSync(tree, { recursive: true });
    const size = fs.statSync(tar).size;
    // Page cache warm for both: read the tar once.
    fs.readFileSync(tar);

    let driver: 'overlay' | 'vfs' = 'overlay';
    const probe = podman(path.join(work, 'podman-probe'), driver);
    stores.push(probe);
    const info = await probe.run(['info']);
    if (info.code !== 0) {
      driver = 'vfs';
      console.log(`podman's overlay driver fails here, using vfs: ${info.stderr.trim().split('\n').pop()}`);
    }

    const skiffTimes: number[] = [];
    const podmanTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const root = path.join(work, `skiff-${i}`);
      skiffTimes.push(
        await timed(async () => {
          const r = await skiff(['import', tar, 'bench:1'], { root });
          if (r.code !== 0) throw new Error(`skiff import: ${r.stderr}`);
        }),
      );
      fs.rmSync(root, { recursive: true, force: true });

      const pm = podman(path.join(work, `podman-${i}`), driver);
      stores.push(pm);
      podmanTimes.push(
        await timed(async () => {
          await pm.ok(['import', tar, 'localhost/bench:1']);
        }),
      );
      await pm.cleanup();
    }

    const s = median(skiffTimes);
    const p = median(podmanTimes);
    const mb = size / MB;
    const ratio = s / p;
    console.log(
      `import of a ${mb.toFixed(1)} MB rootfs tar (${FILES} files, half random, half text); median of ${runs}`,
    );
    console.log(
      `  skiff import                 ${s.toFixed(3)} s   ${(mb / s).toFixed(1)} MB/s   runs ${skiffTimes.map((t) => t.toFixed(3)).join(' ')}`,
    );
    console.log(
      `  podman import (${driver.padEnd(7)})     ${p.toFixed(3)} s   ${(mb / p).toFixed(1)} MB/s   runs ${podmanTimes.map((t) => t.toFixed(3)).join(' ')}`,
    );
    console.log(
      `  ratio skiff/podman time      ${ratio.toFixed(2)} (skiff ${ratio < 1 ? `${(1 / ratio).toFixed(2)}× faster` : `${ratio.toFixed(2)}× slower`})`,
    );
  } finally {
    for (const pm of stores) await pm.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
