/**
 * `skiff run --rm base true` against `podman run --rm` on the same busybox image, on the
 * bridge network and with --network host, plus the bare `crun run` floor. Median of N runs
 * after a warm-up. Not a test: it prints figures and ratios.
 *
 *   node dist/bench/run.js [--runs 20]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-run-'));
const root = path.join(work, 'store');
const podmanRoot = path.join(work, 'podman');
const conf = path.join(work, 'containers.conf');
fs.writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n');
const podmanEnv = { ...process.env, CONTAINERS_CONF: conf };
const podmanArgs = [
  '--root',
  path.join(podmanRoot, 'root'),
  '--runroot',
  path.join(podmanRoot, 'run'),
  '--storage-driver',
  'overlay',
];

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
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

const skiff = ['--root', root];
const SKIFF = path.join(repo, 'bin/skiff');

try {
  const tar = path.join(work, 'rootfs.tar');
  execFileSync('bash', [path.join(repo, 'scripts/make-busybox-rootfs.sh'), tar]);
  must(SKIFF, [...skiff, 'import', tar, 'bench/base:1']);
  must('podman', [...podmanArgs, 'import', tar, 'bench/base:1'], podmanEnv);

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
      must(SKIFF, [...skiff, 'run', '--rm', '--network', network, 'bench/base:1', 'true']),
    );
    results[`podman-${network}`] = measure(`podman run --rm --network ${network} base true`, () =>
      must('podman', [...podmanArgs, 'run', '--rm', '--network', network, 'bench/base:1', 'true'], podmanEnv),
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
  // The store's bridge and nftables table are host-wide: reset removes them with the store.
  spawnSync(SKIFF, [...skiff, 'system', 'reset', '-f'], { stdio: 'ignore' });
  spawnSync('podman', [...podmanArgs, 'system', 'reset', '-f'], { env: podmanEnv, stdio: 'ignore' });
  fs.rmSync(work, { recursive: true, force: true });
}
