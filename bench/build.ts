/**
 * `skiff build` against `podman build` on the six-step Dockerfile (RUN, RUN, COPY of
 * 200 small files and one 50 MB file, ENV, WORKDIR, CMD): a cold build, a fully cached
 * rebuild, and a rebuild after one small file changed. Same base image (busybox) in both,
 * median of 3 each. Not a test: it prints figures and ratios.
 *
 *   node dist/bench/build.js
 */
import fs from 'node:fs';
import path from 'node:path';
import { DOCKERFILE, makeBuildContext } from './build-context.js';
import { sideBySide } from './side-by-side.js';

/** The same files copied in two steps, small files first: the big COPY comes after a changed one. */
// Its RUN steps differ from DOCKERFILE's, so the cold (--no-cache) builds of the other file,
// which make those steps anew with new mtimes, do not change this file's parents.
const SPLIT = DOCKERFILE.replace(
  'COPY . /app/src/',
  'COPY small/ /app/src/small/\nCOPY big.bin /app/src/',
).replace('RUN echo one > /one', 'RUN echo one > /one # split');

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

const s = sideBySide('build');
try {
  const ctx = path.join(s.work, 'ctx');
  makeBuildContext(ctx);
  const results: Record<string, { skiff: number[]; podman: number[] }> = {
    cold: { skiff: [], podman: [] },
    cached: { skiff: [], podman: [] },
    'one file changed': { skiff: [], podman: [] },
    'same, split COPY': { skiff: [], podman: [] },
  };
  fs.writeFileSync(path.join(ctx, 'Dockerfile.split'), SPLIT);
  const split = ['-f', path.join(ctx, 'Dockerfile.split')];
  s.skiff(['build', '-q', ...split, '-t', 'b:2', ctx]);
  s.podman(['build', '--layers', '-q', ...split, '-t', 'b:2', ctx]);
  for (let round = 0; round < 3; round++) {
    // Cold: no cache, as after a fresh clone.
    results.cold!.skiff.push(measure(() => s.skiff(['build', '--no-cache', '-q', '-t', 'b:1', ctx])));
    results.cold!.podman.push(measure(() => s.podman(['build', '--no-cache', '-q', '-t', 'b:1', ctx])));
    results.cached!.skiff.push(measure(() => s.skiff(['build', '-q', '-t', 'b:1', ctx])));
    results.cached!.podman.push(measure(() => s.podman(['build', '--layers', '-q', '-t', 'b:1', ctx])));
    fs.writeFileSync(path.join(ctx, 'small', 'f7.txt'), `changed ${round}\n`);
    results['one file changed']!.skiff.push(measure(() => s.skiff(['build', '-q', '-t', 'b:1', ctx])));
    fs.writeFileSync(path.join(ctx, 'small', 'f8.txt'), `changed ${round}\n`);
    results['one file changed']!.podman.push(
      measure(() => s.podman(['build', '--layers', '-q', '-t', 'b:1', ctx])),
    );
    fs.writeFileSync(path.join(ctx, 'small', 'f9.txt'), `changed ${round}\n`);
    results['same, split COPY']!.skiff.push(
      measure(() => s.skiff(['build', '-q', ...split, '-t', 'b:2', ctx])),
    );
    fs.writeFileSync(path.join(ctx, 'small', 'f10.txt'), `changed ${round}\n`);
    results['same, split COPY']!.podman.push(
      measure(() => s.podman(['build', '--layers', '-q', ...split, '-t', 'b:2', ctx])),
    );
  }
  console.log('six-step Dockerfile, 200 small files + 50 MB file; median of 3 (2 cores)');
  for (const [name, r] of Object.entries(results)) {
    const a = median(r.skiff);
    const b = median(r.podman);
    console.log(
      `${name.padEnd(18)} skiff ${a.toFixed(0).padStart(6)} ms   podman ${b.toFixed(0).padStart(6)} ms   skiff/podman ${(a / b).toFixed(2)}`,
    );
  }
  console.log('(issue anchors: BuildKit 850 / 60 / 429 ms, podman 1,950 / 490 / 1,330 ms)');
} finally {
  s.cleanup();
}

function measure(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}
