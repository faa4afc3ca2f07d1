/**
 * kill -9 in the middle of `import` and `load` of a ~100 MB layer, at several moments (first
 * temp file, mid-stream, just after a blob or layer is renamed into place). Afterwards
 * `system check` must find no damage (garbage is allowed: DESIGN.md's crash invariant), a retry
 * must succeed with the right diff ID, and `system prune` must leave tmp/ empty.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ls, makeSandbox, sha256sum, SKIFF_BIN, start, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

/** Bytes of the regular files under `dir` (0 when it does not exist). */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const name of ls(dir)) {
    const abs = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(abs);
    } catch {
      continue; // renamed or removed under us
    }
    if (st.isDirectory()) total += bytesUnder(abs);
    else if (st.isFile()) total += st.size;
  }
  return total;
}

const MB = 1_000_000;

interface KillPoint {
  name: string;
  /** True once the run has reached the moment to kill it. */
  reached(root: string): boolean;
  /** A point reached only in a narrow window may be missed; others must be hit. */
  mayMiss?: boolean;
}

const tmpAppears: KillPoint = {
  name: 'first temp file',
  reached: (root) => ls(path.join(root, 'tmp')).length > 0,
};
const tmpHalf: KillPoint = {
  name: '40 MB into tmp/',
  reached: (root) => bytesUnder(path.join(root, 'tmp')) >= 40 * MB,
};
const layerRenamed: KillPoint = {
  name: 'layer renamed into layers/',
  reached: (root) => ls(path.join(root, 'layers')).length > 0,
  mayMiss: true,
};
const bigBlobStored: KillPoint = {
  name: 'layer blob renamed into blobs/',
  reached: (root) =>
    ls(path.join(root, 'blobs', 'sha256')).some(
      (n) => fs.statSync(path.join(root, 'blobs', 'sha256', n)).size > MB,
    ),
};

/** Runs `skiff args` and SIGKILLs it once `point` is reached; returns whether it was killed. */
async function killAt(s: Sandbox, args: string[], point: KillPoint): Promise<boolean> {
  const { child, done } = start(process.execPath, ['--', SKIFF_BIN, '--root', s.root, ...args]);
  let exited = false;
  void done.then(() => (exited = true));
  while (!exited) {
    if (point.reached(s.root)) {
      child.kill('SIGKILL');
      break;
    }
    await sleep(1);
  }
  const r = await done;
  if (r.signal === 'SIGKILL') return true;
  assert.equal(r.code, 0, `run finished before the kill but failed: ${r.stderr}`);
  return false;
}

describe('kill -9 during import and load leaves a consistent store', { skip: needs('root') }, () => {
  let work: Sandbox;
  let big: string;
  let diffId: string;
  let ociArchive: string;
  let dockerArchive: string;
  let id: string;

  before(async () => {
    work = makeSandbox('skiff-crash-');
    // ~100 MB rootfs: random files (so gzip cannot shrink the layer blob) and a few small ones.
    const tree = path.join(work.dir, 'tree');
    fs.mkdirSync(path.join(tree, 'data'), { recursive: true });
    fs.mkdirSync(path.join(tree, 'etc'), { recursive: true });
    for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(tree, 'data', `blob-${i}`), randomBytes(MB));
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(tree, 'etc', `conf-${i}`), `setting ${i}\n`);
    big = path.join(work.dir, 'big.tar');
    const tar = spawnSync('tar', ['-C', tree, '--numeric-owner', '-cf', big, '.'], { encoding: 'utf8' });
    assert.equal(tar.status, 0, tar.stderr);
    fs.rmSync(tree, { recursive: true });
    diffId = sha256sum(big);
    id = (await work.ok(['import', big, 'big:1'])).stdout.trim();
    ociArchive = path.join(work.dir, 'big-oci.tar');
    dockerArchive = path.join(work.dir, 'big-docker.tar');
    await work.ok(['save', '-o', ociArchive, 'big:1']);
    await work.ok(['save', '--format', 'docker-archive', '-o', dockerArchive, 'big:1']);
    await work.ok(['rmi', 'big:1']);
  });
  after(() => work.cleanup());

  /** The checks after a crash: no damage, a retry works, prune empties tmp/. */
  async function recovers(s: Sandbox, retry: string[], wantId?: string): Promise<void> {
    const r = await s.skiff(['system', 'check']);
    const report = await s.check();
    assert.deepEqual(report.problems, [], 'a crash leaves garbage at most, never damage');
    assert.equal(r.code, 0, r.stderr);
    await s.ok(retry);
    const name = 'big:1';
    const i = (
      JSON.parse((await s.ok(['inspect', name])).stdout) as { Id: string; RootFS: { Layers: string[] } }[]
    )[0]!;
    assert.deepEqual(i.RootFS.Layers, [diffId]);
    if (wantId) assert.equal(i.Id, wantId);
    assert.deepEqual((await s.check()).problems, []);
    const pruned = await s.ok(['system', 'prune']);
    assert.match(pruned.stdout, /reclaimed/i);
    assert.deepEqual(ls(path.join(s.root, 'tmp')), [], 'prune leaves tmp/ empty');
    const after = await s.check();
    assert.deepEqual(after.problems, []);
    assert.deepEqual(after.garbage, { tempFiles: 0, unreferencedBlobs: 0, unreferencedLayers: 0 });
    assert.deepEqual(ls(path.join(s.root, 'layers')), [diffId.slice(7)], 'exactly the one layer remains');
  }

  const cases: [string, () => string[], KillPoint[], boolean][] = [
    ['import', () => ['import', big, 'big:1'], [tmpAppears, tmpHalf, layerRenamed], false],
    [
      'load (OCI layout)',
      () => ['load', '-i', ociArchive],
      [tmpAppears, bigBlobStored, tmpHalf, layerRenamed],
      true,
    ],
    ['load (docker-archive)', () => ['load', '-i', dockerArchive], [tmpAppears, tmpHalf, layerRenamed], true],
  ];
  for (const [verb, args, points, sameId] of cases) {
    for (const point of points) {
      it(`${verb}: killed at "${point.name}"`, async (t) => {
        const s = makeSandbox('skiff-crash-');
        t.after(() => s.cleanup());
        const killed = await killAt(s, args(), point);
        if (!killed) {
          assert.ok(point.mayMiss, `the run finished before "${point.name}" was seen`);
          t.diagnostic(`run finished before the kill at "${point.name}"; checked the finished store instead`);
        }
        await recovers(s, args(), sameId ? id : undefined);
      });
    }
  }
});
