/**
 * Golden-file tests: each testdata/<case>/Dockerfile is parsed, typed and planned into stages,
 * and the result (or the error message) is compared with testdata/<case>/expected.json. An
 * optional options.json gives `target` and `buildArgs`. Testdata is read from the source tree
 * (found through package.json), so the compiled tests need no copy step.
 *
 * To rewrite the expected files after a deliberate change, run this file directly with
 * `--update` (or UPDATE_GOLDEN=1), then `npx prettier --write src/build` and read the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildInstructions } from './instructions.js';
import { parseDockerfile } from './parse.js';
import { planStages, stagesForTarget } from './stages.js';

const UPDATE = process.argv.includes('--update') || process.env['UPDATE_GOLDEN'] === '1';

function repoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (
      fs.existsSync(pkg) &&
      (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'skiff'
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error('find repository: no skiff package.json above the tests');
  }
}

const TESTDATA = path.join(repoRoot(), 'src', 'build', 'dockerfile', 'testdata');

interface CaseOptions {
  target?: string;
  buildArgs?: Record<string, string>;
}

function run(text: string, options: CaseOptions): unknown {
  try {
    const parsed = parseDockerfile(text, { file: 'Dockerfile' });
    const dockerfile = buildInstructions(parsed, { file: 'Dockerfile' });
    const plan = planStages(dockerfile, { file: 'Dockerfile', buildArgs: options.buildArgs ?? {} });
    return {
      ...parsed,
      instructions: dockerfile.instructions,
      stages: {
        globalEnv: Object.fromEntries(plan.globalEnv),
        list: plan.stages.map((s) => ({ index: s.index, name: s.name ?? null, base: s.base, deps: s.deps })),
        target: options.target ?? null,
        needed: stagesForTarget(plan, options.target).map((s) => s.index),
      },
    };
  } catch (err) {
    if (!(err instanceof Error) || !('code' in err)) throw err;
    return { error: err.message, code: err.code, line: 'line' in err ? err.line : null };
  }
}

const cases = fs.readdirSync(TESTDATA).sort();

test('there are enough golden cases', () => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
});

for (const name of cases) {
  test(`golden: ${name}`, () => {
    const dir = path.join(TESTDATA, name);
    const text = fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
    const optionsFile = path.join(dir, 'options.json');
    const options = fs.existsSync(optionsFile)
      ? (JSON.parse(fs.readFileSync(optionsFile, 'utf8')) as CaseOptions)
      : {};
    const actual = JSON.parse(JSON.stringify(run(text, options))) as unknown;
    const expectedFile = path.join(dir, 'expected.json');
    if (UPDATE) {
      fs.writeFileSync(expectedFile, `${JSON.stringify(actual, null, 2)}\n`);
      return;
    }
    assert.deepEqual(actual, JSON.parse(fs.readFileSync(expectedFile, 'utf8')));
  });
}
