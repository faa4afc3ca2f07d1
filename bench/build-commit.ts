/**
 * A 200 MB layer made by RUN: skiff against buildah on the same busybox base and
 *
 *   FROM bench/base:1
 *   RUN head -c 200000000 /dev/urandom > /big && echo RUN-FINISHED
 *
 * (a) The whole build, no cache: `skiff build --no-cache` against `buildah bud --layers
 *     --no-cache`. --layers because skiff keeps every step as a cache entry and buildah does so
 *     only with it (podman build's default); with one RUN both commit exactly once either way.
 *     Both RUNs get their default network: a private netns on a bridge.
 * (b) The commit alone. buildah has a verb for it: `buildah from` the base, `buildah run` the
 *     command, then `buildah commit` is timed by itself (a process start included, so the
 *     commit of an unchanged container is printed as its floor; `buildah rm`, which skiff's
 *     figure includes, is printed beside it). skiff commits inside the build, so its plain
 *     output is timestamped line by line as it arrives: from RUN-FINISHED, echoed as the
 *     command ends, to the step's ` ---> ID` line is the wait for the process, the packing of
 *     the overlay upper dir into a layer, the container's removal and the new image. As a
 *     cross-check, the same RUN writing to a tmpfs mount (nothing for the layer): the
 *     difference of the two step times is what the 200 MB cost the step.
 *
 * Fresh random bytes every round, so no layer is ever already in a store. buildah gets a
 * private store under a temp dir with the overlay driver (vfs if overlay fails here; the run
 * says which) and the containers.conf this machine needs (docs/host.md#podman-ulimits). Median
 * of 3 (--rounds N). Not a test: it prints figures and ratios.
 *
 *   node dist/bench/build-commit.js [--rounds 3]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { busyboxTar, run, skiff, SKIFF_BIN } from '../tests/helpers.js';

const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;
const BASE = 'bench/base:1';
const MARK = 'RUN-FINISHED';
const WRITE = 'head -c 200000000 /dev/urandom';
const PATH_ENV = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-commit-'));
const root = path.join(work, 'store');
// The overlay driver refuses a run root over 50 characters: a short one beside the rest.
const runroot = fs.mkdtempSync('/tmp/bh-');
const conf = path.join(work, 'containers.conf');
fs.writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n');
let driver = 'overlay';

async function must(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await run(cmd, args, { env, timeout: 600_000 });
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.slice(0, 8).join(' ')}: exit ${r.code ?? r.signal}: ${r.stderr}`);
  return r.stdout;
}

function buildah(args: string[]): Promise<string> {
  const global = [
    '--root',
    path.join(work, `buildah-${driver}`),
    '--runroot',
    runroot,
    '--storage-driver',
    driver,
  ];
  return must('buildah', [...global, ...args], { CONTAINERS_CONF: conf });
}

async function skiffOk(args: string[]): Promise<string> {
  const r = await skiff(args, { root, timeout: 600_000 });
  if (r.code !== 0) throw new Error(`skiff ${args.join(' ')}: exit ${r.code ?? r.signal}: ${r.stderr}`);
  return r.stdout;
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Runs `skiff build` with plain output and notes when each line arrived. */
async function timedBuild(args: string[]): Promise<{ total: number; lines: { at: number; text: string }[] }> {
  const start = performance.now();
  const child = spawn(process.execPath, ['--', SKIFF_BIN, '--root', root, 'build', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: { at: number; text: string }[] = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  createInterface({ input: child.stdout }).on('line', (text) => lines.push({ at: performance.now(), text }));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`skiff build ${args.join(' ')}: exit ${code}: ${stderr}`);
  return { total: performance.now() - start, lines };
}

/** The step time skiff prints for step 2 (` ---> 0123456789ab (5.08s)`), in ms. */
function stepMs(lines: { text: string }[]): number {
  const done = lines.map((l) => / ---> [0-9a-f]{12} \((\d+\.\d+)s\)$/.exec(l.text)).filter((m) => m !== null);
  if (done.length === 0) throw new Error(`no step time in:\n${lines.map((l) => l.text).join('\n')}`);
  return Number(done[done.length - 1]![1]) * 1000;
}

/** From the RUN's last line to the ` ---> ID` line after it, in ms. */
function afterRun(lines: { at: number; text: string }[]): number {
  const i = lines.findIndex((l) => l.text === MARK);
  const done = lines.slice(i + 1).find((l) => /^ ---> [0-9a-f]{12}/.test(l.text));
  if (i < 0 || !done)
    throw new Error(`no ${MARK} then a step ID in:\n${lines.map((l) => l.text).join('\n')}`);
  return done.at - lines[i]!.at;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

async function importBase(tar: string): Promise<void> {
  await skiffOk(['import', tar, BASE, '-c', `ENV ${PATH_ENV}`]);
  for (const candidate of ['overlay', 'vfs']) {
    driver = candidate;
    try {
      await buildah(['from', '--name', 'base-ctr', 'scratch']);
      // `buildah add` unpacks a local tar, as ADD does.
      await buildah(['add', '--quiet', 'base-ctr', tar, '/']);
      await buildah(['config', '--env', PATH_ENV, 'base-ctr']);
      await buildah(['commit', '--quiet', 'base-ctr', BASE]);
      await buildah(['rm', 'base-ctr']);
      // The commit test below must work too: the overlay driver can fail only at `run`.
      await buildah(['from', '--name', 'probe', BASE]);
      await buildah(['run', 'probe', '--', 'true']);
      await buildah(['rm', 'probe']);
      return;
    } catch (err) {
      if (candidate === 'vfs') throw err;
      console.log(
        `buildah's overlay driver failed here, using vfs: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }
}

async function cleanup(): Promise<void> {
  await skiff(['system', 'reset', '-f'], { root });
  for (const d of ['overlay', 'vfs']) {
    if (!fs.existsSync(path.join(work, `buildah-${d}`))) continue;
    driver = d;
    await buildah(['rm', '--all']).catch((err: Error) => console.log(`buildah rm --all: ${err.message}`));
    await buildah(['rmi', '--all', '--force']).catch((err: Error) =>
      console.log(`buildah rmi --all: ${err.message}`),
    );
  }
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(runroot, { recursive: true, force: true });
}

try {
  await importBase(busyboxTar());
  const ctx = path.join(work, 'ctx');
  fs.mkdirSync(ctx);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${BASE}\nRUN ${WRITE} > /big && echo ${MARK}\n`);
  fs.writeFileSync(
    path.join(ctx, 'Dockerfile.tmpfs'),
    `FROM ${BASE}\nRUN --mount=type=tmpfs,target=/t ${WRITE} > /t/big && echo ${MARK}\n`,
  );
  const r = {
    skiffBuild: [] as number[],
    buildahBud: [] as number[],
    skiffAfterRun: [] as number[],
    skiffStep: [] as number[],
    skiffTmpfsStep: [] as number[],
    buildahCommit: [] as number[],
    buildahRm: [] as number[],
    buildahEmptyCommit: [] as number[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    const b = await timedBuild(['--no-cache', '-t', 'big:1', ctx]);
    r.skiffBuild.push(b.total);
    r.skiffAfterRun.push(afterRun(b.lines));
    r.skiffStep.push(stepMs(b.lines));
    const t = await timedBuild([
      '--no-cache',
      '-f',
      path.join(ctx, 'Dockerfile.tmpfs'),
      '-t',
      'tmpfs:1',
      ctx,
    ]);
    r.skiffTmpfsStep.push(stepMs(t.lines));
    r.buildahBud.push(
      await timed(() => buildah(['bud', '--layers', '--no-cache', '-q', '-t', 'big:1', ctx])),
    );
    await buildah(['from', '--name', 'big-ctr', BASE]);
    await buildah(['run', 'big-ctr', '--', 'sh', '-c', `${WRITE} > /big`]);
    r.buildahCommit.push(await timed(() => buildah(['commit', '--quiet', 'big-ctr', 'commit:1'])));
    r.buildahRm.push(await timed(() => buildah(['rm', 'big-ctr'])));
    await buildah(['from', '--name', 'empty-ctr', BASE]);
    r.buildahEmptyCommit.push(await timed(() => buildah(['commit', '--quiet', 'empty-ctr', 'empty:1'])));
    await buildah(['rm', 'empty-ctr']);
  }
  const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)])) as Record<
    keyof typeof r,
    number
  >;
  const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;
  console.log(`200 MB RUN-produced layer; buildah storage driver ${driver}; median of ${ROUNDS} (2 cores)`);
  console.log(
    `(a) whole build, no cache    skiff ${ms(m.skiffBuild)}   buildah bud ${ms(m.buildahBud)}   skiff/buildah ${(m.skiffBuild / m.buildahBud).toFixed(2)}`,
  );
  console.log(
    `(b) commit                   skiff ${ms(m.skiffAfterRun)}   buildah commit ${ms(m.buildahCommit)}   skiff/buildah ${(m.skiffAfterRun / m.buildahCommit).toFixed(2)}`,
  );
  console.log(
    `    skiff: RUN step ${ms(m.skiffStep)}, same RUN to tmpfs ${ms(m.skiffTmpfsStep)}, difference ${ms(m.skiffStep - m.skiffTmpfsStep)}`,
  );
  console.log(
    `    buildah: commit of an unchanged container ${ms(m.buildahEmptyCommit)}; rm after the commit ${ms(m.buildahRm)}; skiff/(commit + rm) ${(m.skiffAfterRun / (m.buildahCommit + m.buildahRm)).toFixed(2)}`,
  );
} finally {
  await cleanup();
}
