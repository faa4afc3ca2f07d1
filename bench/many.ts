/**
 * Starting 100 `sleep` containers: skiff (`run -d`, bridge network) against podman, the same
 * busybox image. Prints the wall time, containers per second and the memory that stays behind
 * per container (RSS of conmon and of any skiff process left, read from /proc). Not a test.
 *
 *   node dist/bench/many.js [--count 100]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const countArg = process.argv.indexOf('--count');
const COUNT = countArg > 0 ? Number(process.argv[countArg + 1]) : 100;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-many-'));
const root = path.join(work, 'store');
const podmanRoot = fs.mkdtempSync('/tmp/pm-');
const conf = path.join(work, 'containers.conf');
fs.writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n');
const podmanEnv = { ...process.env, CONTAINERS_CONF: conf };
const podman = [
  '--root',
  path.join(podmanRoot, 'r'),
  '--runroot',
  path.join(podmanRoot, 'rr'),
  '--storage-driver',
  'overlay',
];
const skiff = ['--root', root];
const SKIFF = path.join(repo, 'bin/skiff');

function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Summed RSS (kB) of processes whose command line contains `needle`. */
function rssOf(needle: string): { count: number; kb: number } {
  let count = 0;
  let kb = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!cmdline.includes(needle)) continue;
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
  const conmon = rssOf(needle);
  console.log(
    `${label.padEnd(8)} ${COUNT} started in ${seconds.toFixed(1)} s (${(COUNT / seconds).toFixed(1)}/s); ` +
      `${conmon.count} conmon, ${(conmon.kb / Math.max(conmon.count, 1) / 1024).toFixed(1)} MB RSS each`,
  );
}

try {
  const tar = path.join(work, 'rootfs.tar');
  execFileSync('bash', [path.join(repo, 'scripts/make-busybox-rootfs.sh'), tar]);
  must(SKIFF, [...skiff, 'import', tar, 'bench/base:1']);
  must('podman', [...podman, 'import', tar, 'bench/base:1'], podmanEnv);

  startMany('skiff', () => must(SKIFF, [...skiff, 'run', '-d', 'bench/base:1', 'sleep', '600']), root);
  const left = rssOf(`${root} container supervise`);
  console.log(
    `skiff    processes of its own left running: ${left.count} supervisor (${(left.kb / 1024).toFixed(1)} MB)`,
  );
  must(SKIFF, [...skiff, 'system', 'reset', '-f']);

  startMany(
    'podman',
    () => must('podman', [...podman, 'run', '-d', 'bench/base:1', 'sleep', '600'], podmanEnv),
    podmanRoot,
  );
} finally {
  spawnSync(SKIFF, [...skiff, 'system', 'reset', '-f'], { stdio: 'ignore' });
  spawnSync('podman', [...podman, 'rm', '-a', '-f', '-t', '0'], { env: podmanEnv, stdio: 'ignore' });
  spawnSync('podman', [...podman, 'system', 'reset', '-f'], { env: podmanEnv, stdio: 'ignore' });
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(podmanRoot, { recursive: true, force: true });
}
