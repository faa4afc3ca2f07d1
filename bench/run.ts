/**
 * `skiff run --rm base true` against `podman run --rm` on the same busybox image, on the
 * bridge network and with --network host, plus the bare `crun run` floor. Median of N runs
 * after a warm-up. Not a test: it prints figures and ratios.
 *
 *   node dist/bench/run.js [--runs 20]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IMAGE, must, sideBySide } from './side-by-side.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function measure(label: string, fn: () => void): number {
  fn();
  fn();
  const samples = Array.from({ length: RUNS }, () => time(fn));
  const m = median(samples);
  console.log(
    `${label.padEnd(44)} median ${m.toFixed(1).padStart(7)} ms   min ${Math.min(...samples)
      .toFixed(1)
      .padStart(7)} ms`,
  );
  return m;
}

const bench = sideBySide('run');

try {
  const tar = bench.tar;
  const work = bench.work;

  // The floor: crun alone on an unpacked bundle, no image store and no network.
  const bundle = path.join(work, 'bundle');
  fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
  execFileSync('tar', ['-C', path.join(bundle, 'rootfs'), '-xf', tar]);
  execFileSync('crun', ['spec'], { cwd: bundle });
  const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['true'];
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  let n = 0;

  console.log(`runs: ${RUNS} after 2 warm-up runs each; ${os.cpus().length} cores`);
  const results: Record<string, number> = {};
  results['crun'] = measure('bare crun run true', () =>
    must('crun', ['run', '-b', bundle, `skiff-bench-${process.pid}-${n++}`]),
  );
  for (const network of ['host', 'bridge']) {
    results[`skiff-${network}`] = measure(`skiff run --rm --network ${network} base true`, () =>
      bench.skiff(['run', '--rm', '--network', network, IMAGE, 'true']),
    );
    results[`podman-${network}`] = measure(`podman run --rm --network ${network} base true`, () =>
      bench.podman(['run', '--rm', '--network', network, IMAGE, 'true']),
    );
  }
  console.log('');
  for (const network of ['host', 'bridge']) {
    const ratio = results[`skiff-${network}`]! / results[`podman-${network}`]!;
    console.log(
      `${network}: skiff/podman = ${ratio.toFixed(2)} (goal ≤ 0.50); skiff/crun floor = ${(results[`skiff-${network}`]! / results['crun']!).toFixed(1)}`,
    );
  }
} finally {
  bench.cleanup();
}
