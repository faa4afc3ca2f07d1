/**
 * Starting 100 `sleep` containers: skiff (`run -d`, bridge network) against podman, the same
 * busybox image. Prints the wall time, containers per second and the memory that stays behind
 * per container (RSS of conmon and of any skiff process left, read from /proc). Not a test.
 *
 *   node dist/bench/many.js [--count 100]
 */
import fs from 'node:fs';
import { IMAGE, sideBySide } from './side-by-side.js';

const countArg = process.argv.indexOf('--count');
const COUNT = countArg > 0 ? Number(process.argv[countArg + 1]) : 100;

/** Summed RSS (kB) of processes whose command line contains every one of `needles`. */
function rssOf(...needles: string[]): { count: number; kb: number } {
  let count = 0;
  let kb = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!needles.every((n) => cmdline.includes(n))) continue;
      const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      count++;
      kb += Number(rss?.[1] ?? 0);
    } catch {
      // The process ended meanwhile.
    }
  }
  return { count, kb };
}

function startMany(label: string, start: (i: number) => void, needle: string): void {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) start(i);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const conmon = rssOf('conmon', needle);
  console.log(
    `${label.padEnd(8)} ${COUNT} started in ${seconds.toFixed(1)} s (${(COUNT / seconds).toFixed(1)}/s); ` +
      `${conmon.count} conmon, ${(conmon.kb / Math.max(conmon.count, 1) / 1024).toFixed(1)} MB RSS each`,
  );
}

const bench = sideBySide('many');

try {
  startMany('skiff', () => bench.skiff(['run', '-d', IMAGE, 'sleep', '600']), bench.root);
  const left = rssOf(bench.root, 'container supervise');
  console.log(
    `skiff    processes of its own left running: ${left.count} supervisor (${(left.kb / 1024).toFixed(1)} MB)`,
  );
  bench.skiff(['system', 'reset', '-f']);

  startMany('podman', () => bench.podman(['run', '-d', IMAGE, 'sleep', '600']), bench.podmanRoot);
} finally {
  bench.cleanup();
}
