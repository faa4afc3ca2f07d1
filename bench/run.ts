/**
 * Start-up and `run` side by side with podman on the same busybox image: `skiff version`
 * against a bare `node -e 0` (what any Node CLI pays), and `skiff run --rm base true`
 * against `podman run --rm` with --network host and on the bridge, plus the bare `crun run`
 * floor. Wall and CPU time (user + system of the whole process tree, bench/cpu-time.ts);
 * medians of N runs after two warm-up runs. Not a test: it prints figures and ratios.
 *
 *   node dist/bench/run.js [--runs 15]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureTree, type Timing } from './cpu-time.js';
import { IMAGE, sideBySide } from './side-by-side.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;

const bench = sideBySide('run');
// Node reads every certificate named by NODE_EXTRA_CA_CERTS at start (bin/skiff hands them on
// instead); the bare node is measured without them, as the goal is stated.
const bareEnv = { ...process.env };
delete bareEnv['NODE_EXTRA_CA_CERTS'];

try {
  const bundle = path.join(bench.work, 'bundle');
  fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
  execFileSync('tar', ['-C', path.join(bundle, 'rootfs'), '-xf', bench.tar]);
  execFileSync('crun', ['spec'], { cwd: bundle });
  const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['true'];
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));

  console.log(`runs: ${RUNS} after 2 warm-up runs each; ${os.cpus().length} cores`);
  const r: Record<string, Timing> = {};
  r['node'] = measureTree('node -e 0 (no NODE_EXTRA_CA_CERTS)', RUNS, process.execPath, ['-e', '0'], bareEnv);
  const version = bench.skiffCommand(['version']);
  r['version'] = measureTree('skiff version', RUNS, version.cmd, version.args, version.env);
  let n = 0;
  r['crun'] = measureTree('bare crun run true', RUNS, 'sh', [
    '-c',
    `crun run -b ${bundle} skiff-bench-${process.pid}-$(date +%s%N)-${n++}`,
  ]);
  for (const network of ['host', 'bridge']) {
    const args = ['run', '--rm', '--network', network, IMAGE, 'true'];
    const s = bench.skiffCommand(args);
    const p = bench.podmanCommand(args);
    r[`skiff-${network}`] = measureTree(
      `skiff run --rm --network ${network} base true`,
      RUNS,
      s.cmd,
      s.args,
      s.env,
    );
    r[`podman-${network}`] = measureTree(
      `podman run --rm --network ${network} base true`,
      RUNS,
      p.cmd,
      p.args,
      p.env,
    );
  }
  console.log('');
  const over = r['version']!.wallMs - r['node']!.wallMs;
  console.log(`skiff version: ${over.toFixed(1)} ms above node -e 0 (goal ≤ 25 ms)`);
  const goals: Record<string, string> = { host: 'wall ≤ 0.60, cpu ≤ 1.00', bridge: 'wall ≤ 0.40' };
  for (const network of ['host', 'bridge']) {
    const s = r[`skiff-${network}`]!;
    const p = r[`podman-${network}`]!;
    console.log(
      `${network}: skiff/podman wall ${(s.wallMs / p.wallMs).toFixed(2)}, cpu ${(s.cpuMs / p.cpuMs).toFixed(2)} ` +
        `(goal ${goals[network]}); skiff/crun floor wall ${(s.wallMs / r['crun']!.wallMs).toFixed(1)}`,
    );
  }
  console.log(
    '(podman moves its conmon to a cgroup of its own, so its CPU time misses conmon’s; skiff’s includes it)',
  );
} finally {
  bench.cleanup();
}
