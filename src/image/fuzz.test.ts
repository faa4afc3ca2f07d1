/**
 * The fuzzer (fuzz-testing.ts) with a fixed seed: 6,000 mutated tars, manifests, configs and OCI
 * archives, each accepted or refused with a SkiffError, nothing left behind. A failure names its
 * case; `npm run bench:fuzz -- --seed 20240611 --case N` replays it, and bench:fuzz runs any
 * other seed for longer.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Store } from '../store/store.js';
import { needs } from '../util/test-requirements.js';
import { runFuzz } from './fuzz-testing.js';

const SEED = 20240611;
const CASES = 6000;

test(
  'hostile input is accepted or refused with a SkiffError, leaving nothing behind',
  { skip: needs('root') },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-fuzz-'));
    const store = Store.open(path.join(dir, 'store'));
    try {
      const report = await runFuzz({ seed: SEED, cases: CASES, dir, store });
      const failures = report.failures.map((f) => `case ${f.index} (${f.kind}): ${f.problem.split('\n')[0]}`);
      assert.deepEqual(failures, [], `replay one with: npm run bench:fuzz -- --seed ${SEED} --case N`);
      assert.deepEqual(report.storeProblems, []);
      assert.equal(report.cases, CASES);
      // The mutations must reach past the first checks, or the run proves little.
      for (const [kind, n] of Object.entries(report.byKind)) {
        assert.ok(n.accepted > 0, `some ${kind} inputs are accepted`);
        assert.ok(n.refused > 0, `some ${kind} inputs are refused`);
      }
    } finally {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
