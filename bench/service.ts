/**
 * The Docker Engine API side by side: the docker CLI through `skiff system service` against
 * the same CLI through `podman system service`, and against podman's own CLI, on the same
 * busybox image and build context. Each service runs in a cgroup of its own, so its CPU time
 * (with conmon and the containers it starts) is added to the client's. Medians after two
 * warm-up runs. Then the skiff service's memory when idle and after 1,000 requests, and 200
 * clients listing containers at once. Not a test: it prints figures and ratios.
 *
 *   node dist/bench/service.js [--runs 11]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { makeBuildContext } from './build-context.js';
import { median, serviceGroup, timeTree, type Timing } from './cpu-time.js';
import { IMAGE, must, sideBySide, type Command } from './side-by-side.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 11;

interface Service {
  name: string;
  socket: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  group: ReturnType<typeof serviceGroup>;
}

const bench = sideBySide('service');
const services: Service[] = [];

/** Starts `command` serving on `socket`, in a cgroup of its own; resolves when the socket is there. */
async function startService(name: string, command: Command, socket: string): Promise<Service> {
  const group = serviceGroup(name);
  const child = spawn(
    'sh',
    ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group.dir, command.cmd, ...command.args],
    { env: command.env, stdio: 'ignore' },
  );
  for (let i = 0; !fs.existsSync(socket); i++) {
    if (i > 300 || child.exitCode !== null) throw new Error(`${name} service did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const config = path.join(bench.work, `docker-config-${name}`);
  fs.mkdirSync(config);
  const service = {
    name,
    socket,
    env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: config, DOCKER_BUILDKIT: '0' },
    child,
    group,
  };
  services.push(service);
  return service;
}

/** Wall time of the client; CPU of the client's tree plus what the service spent meanwhile. */
function timeThrough(
  service: Service | undefined,
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Timing {
  const before = service?.group.cpuMs() ?? 0;
  const t = timeTree(cmd, args, env ?? service?.env);
  return { wallMs: t.wallMs, cpuMs: t.cpuMs + (service ? service.group.cpuMs() - before : 0) };
}

function measure(label: string, fn: () => Timing, runs = RUNS): Timing {
  fn();
  fn();
  const samples = Array.from({ length: runs }, fn);
  const t = { wallMs: median(samples.map((s) => s.wallMs)), cpuMs: median(samples.map((s) => s.cpuMs)) };
  console.log(
    `${label.padEnd(58)} wall ${t.wallMs.toFixed(1).padStart(8)} ms   cpu ${t.cpuMs.toFixed(1).padStart(8)} ms`,
  );
  return t;
}

function ratio(label: string, a: Timing, b: Timing, goal: string): void {
  console.log(
    `${label.padEnd(58)} wall ${(a.wallMs / b.wallMs).toFixed(2)}   cpu ${(a.cpuMs / b.cpuMs).toFixed(2)}   (goal ${goal})`,
  );
}

function get(socket: string, agent: http.Agent, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: socket, path: p, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return Number(kb) / 1024;
}

try {
  const skiffSock = path.join(bench.work, 'skiff.sock');
  const podmanSock = path.join(bench.work, 'podman.sock');
  const skiff = await startService(
    'skiff',
    bench.skiffCommand(['system', 'service', `unix://${skiffSock}`]),
    skiffSock,
  );
  const podman = await startService(
    'podman',
    bench.podmanCommand(['system', 'service', '--time=0', `unix://${podmanSock}`]),
    podmanSock,
  );
  console.log(`runs: ${RUNS} after 2 warm-up runs each; docker CLI ${must('docker', ['--version']).trim()}`);

  const runArgs = ['run', '--rm', '--network', 'host', IMAGE, 'true'];
  const p = bench.podmanCommand(runArgs);
  const runSkiff = measure('docker run --rm --network host (skiff service)', () =>
    timeThrough(skiff, 'docker', runArgs),
  );
  const runPodmanSvc = measure('docker run --rm --network host (podman service)', () =>
    timeThrough(podman, 'docker', runArgs),
  );
  const runPodman = measure('podman run --rm --network host', () =>
    timeThrough(undefined, p.cmd, p.args, p.env),
  );

  const ctx = path.join(bench.work, 'ctx');
  makeBuildContext(ctx);
  const buildArgs = ['build', '-q', '-t', 'b:1', ctx];
  const pb = bench.podmanCommand(['build', '--layers', '-q', '-t', 'b:1', ctx]);
  const buildSkiff = measure(
    'docker build, fully cached (skiff service)',
    () => timeThrough(skiff, 'docker', buildArgs),
    5,
  );
  const buildPodman = measure(
    'podman build --layers, fully cached',
    () => timeThrough(undefined, pb.cmd, pb.args, pb.env),
    5,
  );

  for (const service of [skiff, podman])
    for (let i = 0; i < 50; i++) must('docker', ['create', '--name', `ps${i}`, IMAGE, 'true'], service.env);
  const psSkiff = measure('docker ps -a, 50 containers (skiff service)', () =>
    timeThrough(skiff, 'docker', ['ps', '-a']),
  );
  const psPodman = measure('docker ps -a, 50 containers (podman service)', () =>
    timeThrough(podman, 'docker', ['ps', '-a']),
  );

  console.log('');
  ratio('run: skiff service / podman run', runSkiff, runPodman, 'wall ≤ 0.4');
  ratio('run: skiff service / podman service', runSkiff, runPodmanSvc, 'wall ≤ 0.5');
  ratio('cached build: skiff service / podman build', buildSkiff, buildPodman, 'wall ≤ 0.06');
  ratio('ps -a: skiff service / podman service', psSkiff, psPodman, 'wall ≤ 0.5');

  console.log('');
  const pid = skiff.child.pid!;
  // The service runs under sh's exec: the pid is skiff's own.
  const idle = rssMiB(pid);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 1000; i++) await get(skiffSock, agent, '/v1.41/containers/json?all=1');
  agent.destroy();
  const after = rssMiB(pid);
  console.log(`skiff service RSS: idle ${idle.toFixed(1)} MiB, after 1,000 requests ${after.toFixed(1)} MiB`);
  const many = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const start = performance.now();
  const statuses = await Promise.all(
    Array.from({ length: 200 }, () => get(skiffSock, many, '/containers/json?all=1')),
  );
  const ok = statuses.filter((s) => s === 200).length;
  console.log(
    `200 concurrent GET /containers/json (50 containers): ${ok}/200 answered 200 in ${(performance.now() - start).toFixed(0)} ms; RSS ${rssMiB(pid).toFixed(1)} MiB`,
  );
} finally {
  for (const service of services) {
    service.child.kill('SIGTERM');
    await new Promise((r) => (service.child.exitCode !== null ? r(null) : service.child.once('exit', r)));
    service.group.remove();
  }
  // The stores' reset removes the created containers with everything else.
  bench.cleanup();
}
