/**
 * Deploy under load: v1 → v2 → rollback → v2 behind skiff's HAProxy while `wrk` and a Node
 * probe send requests on loopback — once cold (`--keep-warm 0`: the rollback starts the
 * previous release's stopped containers) and once warm (the default window: the rollback is
 * only a proxy switch); then the naive way on the same app and load — remove the old
 * container, run the new one on the same published port — and its way back. Prints the failed
 * requests of each and the time from the rollback command's start to the first response of
 * the previous release, side by side. Not a test: a figure never fails anything.
 *
 *   node dist/bench/deploy.js [--seconds 12]
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { appImage, steadyLoad, type Sample } from '../tests/deploy-testing.js';
import { busyboxTar, freePort, makeSandbox, REPO } from '../tests/helpers.js';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 12;
const skiffBin = path.join(REPO, 'bin', 'skiff');

interface WrkResult {
  requests: number;
  failed: number;
  detail: string;
}

/**
 * A steady load, not a saturating one (docs/haproxy.md#steady-load-benchmark): 16 keep-alive
 * connections, each waiting 20 ms before its next request, ~800 requests/s, leaving the two
 * cores room to work.
 */
function startWrk(url: string, dir: string): Promise<WrkResult> {
  const script = path.join(dir, 'steady.lua');
  fs.writeFileSync(script, 'function delay()\n  return 20\nend\n');
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t2', '-c16', `-d${SECONDS}s`, '-s', script, url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const errors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
      resolve({
        requests,
        failed: errors + non2xx,
        detail: `${non2xx} non-2xx, socket errors ${sock ? sock.slice(1).join('/') : '0/0/0/0'} (connect/read/write/timeout)`,
      });
    });
  });
}

/** Runs skiff without blocking this process: the probe's requests go on meanwhile. */
function skiff(root: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(skiffBin, ['--root', root, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`skiff ${args.join(' ')}: ${err}`)),
    );
  });
}

/** From `since` to the end of the first answer `body` to a request sent after `since`. */
function firstAnswer(samples: Sample[], since: number, body: string): number | undefined {
  const hit = samples.filter((x) => x.start >= since && x.body === body).sort((a, b) => a.end - b.end)[0];
  return hit && hit.end - since;
}

async function scenario(
  dir: string,
  label: string,
  url: string,
  steps: { deploy: () => Promise<void>; rollback: () => Promise<void>; redeploy: () => Promise<void> },
) {
  const wrk = startWrk(url, dir);
  const probe = steadyLoad(url, 2);
  await sleep(1_000);
  await steps.deploy();
  await sleep(1_500);
  const rollbackAt = performance.now();
  await steps.rollback();
  const rollbackDone = performance.now() - rollbackAt;
  await sleep(1_500);
  await steps.redeploy();
  const w = await wrk;
  const samples = await probe.stop();
  const probeFailed = samples.filter((x) => x.error !== undefined).length;
  const first = firstAnswer(samples, rollbackAt, 'v1\n');
  console.log(`${label}`);
  console.log(`  wrk:   ${w.requests} requests, ${w.failed} failed (${w.detail})`);
  console.log(`  probe: ${samples.length} requests, ${probeFailed} failed`);
  console.log(
    `  rollback command → first v1 response: ${first === undefined ? 'none' : `${first.toFixed(0)} ms`} (command took ${rollbackDone.toFixed(0)} ms)`,
  );
  return { failed: w.failed + probeFailed, first };
}

const s = makeSandbox('skiff-bench-deploy-');
try {
  await s.ok(['import', busyboxTar(), 'base:1']);
  await appImage(s, 'app:v1', 'v1\n');
  await appImage(s, 'app:v2', 'v2\n');

  const skiffScenario = async (service: string, keepWarm: string[], label: string) => {
    const port = await freePort();
    const deploy = (image: string) =>
      skiff(s.root, [
        'deploy',
        service,
        image,
        ...keepWarm,
        '--replicas',
        '2',
        '--port',
        `127.0.0.1:${port}:8080`,
        '--health',
        '/up',
        '--drain',
        '1s',
      ]);
    await deploy('app:v1');
    const result = await scenario(s.dir, `${label} (${SECONDS} s of load)`, `http://127.0.0.1:${port}/`, {
      deploy: () => deploy('app:v2'),
      rollback: () => skiff(s.root, ['rollback', service, ...keepWarm]),
      redeploy: () => deploy('app:v2'),
    });
    // Its containers (warm ones too) go: the next scenario has the two cores to itself.
    await skiff(s.root, ['service', 'rm', service]);
    return result;
  };
  const cold = await skiffScenario(
    'web',
    ['--keep-warm', '0'],
    'skiff, cold rollback (--keep-warm 0: start the stopped previous release)',
  );
  const warm = await skiffScenario(
    'hot',
    [],
    'skiff, warm rollback (default --keep-warm 10m: a proxy switch, no start)',
  );

  const naivePort = await freePort();
  let current = 'naive-1';
  const swap = async (image: string) => {
    const next = `naive-${Number(current.split('-')[1]) + 1}`;
    await skiff(s.root, ['rm', '-f', current]);
    await skiff(s.root, ['run', '-d', '--name', next, '-p', `127.0.0.1:${naivePort}:8080`, image]);
    current = next;
  };
  await skiff(s.root, ['run', '-d', '--name', current, '-p', `127.0.0.1:${naivePort}:8080`, 'app:v1']);
  await sleep(300);
  const naive = await scenario(
    s.dir,
    `naive: rm -f old; run -d new on the same published port (${SECONDS} s of load)`,
    `http://127.0.0.1:${naivePort}/`,
    { deploy: () => swap('app:v2'), rollback: () => swap('app:v1'), redeploy: () => swap('app:v2') },
  );
  const ms = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(0)} ms`);
  console.log('\n                 rollback start → first previous-release response   failed requests');
  console.log(`skiff warm       ${ms(warm.first).padEnd(50)} ${warm.failed}   (goal ≤ 100 ms, 0)`);
  console.log(`skiff cold       ${ms(cold.first).padEnd(50)} ${cold.failed}   (goal < 1000 ms, 0)`);
  console.log(`naive            ${ms(naive.first).padEnd(50)} ${naive.failed}`);
} finally {
  spawnSync(skiffBin, ['--root', s.root, 'system', 'reset', '-f'], { stdio: 'ignore' });
  s.cleanup();
}
