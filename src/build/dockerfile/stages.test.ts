/**
 * Stage planning beyond what the golden files show: target pruning, the dependency graph,
 * build arguments in FROM, and the errors that name no line (unknown target).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SkiffError } from '../../util/errors.js';
import { parseInstructions } from './instructions.js';
import { DockerfileError } from './node.js';
import { planStages, stagesForTarget } from './stages.js';

const MULTI = `ARG GO=1.22
FROM golang:\${GO} AS base
FROM base AS build
RUN --mount=type=cache,target=/cache go build
FROM alpine AS lint
RUN --mount=from=base,target=/src lint /src
FROM scratch AS out
COPY --from=build /app /app
FROM out AS release
COPY --from=lint /report /report
`;

function plan(text: string, buildArgs: Record<string, string> = {}) {
  return planStages(parseInstructions(text, { file: 'Dockerfile' }), { file: 'Dockerfile', buildArgs });
}

test('a target needs only the stages it reaches', () => {
  const p = plan(MULTI);
  const names = (target?: string) => stagesForTarget(p, target).map((s) => s.name);
  assert.deepEqual(names('out'), ['base', 'build', 'out']);
  assert.deepEqual(names('LINT'), ['base', 'lint']);
  assert.deepEqual(names(), ['base', 'build', 'lint', 'out', 'release']);
  assert.deepEqual(names('base'), ['base']);
});

test('the deps let independent stages run in parallel', () => {
  const p = plan(MULTI);
  assert.deepEqual(
    p.stages.map((s) => [s.name, s.deps]),
    [
      ['base', []],
      ['build', [0]],
      ['lint', [0]],
      ['out', [1]],
      ['release', [2, 3]],
    ],
  );
});

test('global ARGs and build arguments reach FROM', () => {
  assert.deepEqual(plan(MULTI).stages[0]!.base, { image: 'golang:1.22' });
  assert.deepEqual(plan(MULTI, { GO: '1.23' }).stages[0]!.base, { image: 'golang:1.23' });
  assert.deepEqual(plan(MULTI).stages[1]!.base, { stage: 0 });
});

test('an unknown target is an InvalidArgument naming it', () => {
  assert.throws(
    () => stagesForTarget(plan(MULTI), 'nope'),
    (err: unknown) =>
      err instanceof SkiffError && err.category === 'invalid_argument' && /`nope`/.test(err.message),
  );
});

test('a bad expansion in FROM names the line', () => {
  assert.throws(
    () => plan('FROM alpine\nFROM ${X:?needX}\n'),
    (err: unknown) => {
      assert.ok(err instanceof DockerfileError);
      assert.equal(err.line, 2);
      assert.match(err.message, /^Dockerfile:2: expand/);
      return true;
    },
  );
});

test('FROM expands positional and special parameters to nothing; `${}` is an error at its line', () => {
  assert.deepEqual(plan('FROM ${@:-alpine}:3$999\n').stages[0]!.base, { image: 'alpine:3' });
  assert.deepEqual(plan('ARG V=${1:-3.20}$$\nFROM alpine:$V\n').stages[0]!.base, { image: 'alpine:3.20' });
  assert.throws(() => plan('FROM alpine\nFROM a${}\n'), {
    name: 'DockerfileError',
    message: 'Dockerfile:2: expand `a${}`: bad substitution',
  });
});

test('errors carry the file name given to the parser', () => {
  assert.throws(() => parseInstructions('FROM a\n\nRUNN x\n', { file: 'app/Containerfile' }), {
    message: 'app/Containerfile:3: unknown instruction `RUNN`',
  });
});
