/**
 * Line continuations, as the Dockerfile reference ("escape" directive) and BuildKit's parser
 * read them: the escape character as the last non-blank of a line joins the next line, but
 * not when it is itself escaped (`\\` at the end is a literal backslash). BuildKit checks one
 * character back only, so `\\\` at the end does not continue either. The same holds for the
 * backtick under `# escape=``.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandInstruction } from './expand-instruction.js';
import { parseInstructions } from './instructions.js';
import { parseDockerfile } from './parse.js';

/** [name, Dockerfile lines, the nodes as `keyword rest @start-end`]. */
const CONTINUATION_ROWS: [string, string[], string[]][] = [
  ['an escape continues', ['RUN echo a \\', '  b'], ['RUN echo a   b @1-2']],
  [
    'an escaped escape does not continue',
    ['ENV C trailing\\\\backslash\\\\', 'RUN echo next'],
    ['ENV C trailing\\\\backslash\\\\ @1-1', 'RUN echo next @2-2'],
  ],
  ['nor with blanks after it', ['RUN a\\\\ \t', 'RUN b'], ['RUN a\\\\ @1-1', 'RUN b @2-2']],
  ['nor with three escapes at the end', ['RUN a\\\\\\', 'RUN b'], ['RUN a\\\\\\ @1-1', 'RUN b @2-2']],
  ['an escape after a blank continues', ['RUN a \\\\ \\', 'b'], ['RUN a \\\\ b @1-2']],
  [
    'an escaped escape ends a continued instruction',
    ['RUN a \\', '  b\\\\', 'RUN c'],
    ['RUN a   b\\\\ @1-2', 'RUN c @3-3'],
  ],
  ['a line holding only the escape continues', ['RUN a \\', '\\', ' b'], ['RUN a  b @1-3']],
  ['a backtick is no escape by default', ['RUN a `', 'RUN b'], ['RUN a ` @1-1', 'RUN b @2-2']],
  ['backtick escape: a backtick continues', ['# escape=`', 'RUN a `', '  b'], ['RUN a   b @2-3']],
  [
    'backtick escape: an escaped backtick does not continue',
    ['# escape=`', 'ENV C trailing``backtick``', 'RUN echo next'],
    ['ENV C trailing``backtick`` @2-2', 'RUN echo next @3-3'],
  ],
  [
    'backtick escape: a backslash before the backtick does not escape it',
    ['# escape=`', 'RUN dir C:\\`', '  /s'],
    ['RUN dir C:\\  /s @2-3'],
  ],
  [
    'backtick escape: a trailing backslash is a path, not a continuation',
    ['# escape=`', 'COPY src C:\\app\\', 'RUN b'],
    ['COPY src C:\\app\\ @2-2', 'RUN b @3-3'],
  ],
];

for (const [name, lines, expected] of CONTINUATION_ROWS) {
  test(`continuation: ${name}`, () => {
    const { nodes } = parseDockerfile(`${lines.join('\n')}\n`);
    assert.deepEqual(
      nodes.map((n) => `${n.keyword} ${n.rest} @${n.startLine}-${n.endLine}`),
      expected,
    );
  });
}

test('ENV ending in an escaped backslash keeps it, and the next instruction is its own', () => {
  const dockerfile = parseInstructions('FROM a\nENV C trailing\\\\backslash\\\\\nENV D d\n');
  assert.deepEqual(
    dockerfile.instructions.map((i) => i.kind),
    ['FROM', 'ENV', 'ENV'],
  );
  const env = expandInstruction(dockerfile.instructions[1]!, new Map());
  assert.ok(env.kind === 'ENV');
  assert.deepEqual(env.pairs, [{ key: 'C', value: 'trailing\\backslash\\' }]);
});

test('the same with the backtick escape directive', () => {
  const dockerfile = parseInstructions('# escape=`\nFROM a\nENV C trailing``backtick``\nENV D d\n');
  assert.deepEqual(
    dockerfile.instructions.map((i) => [i.kind, i.line]),
    [
      ['FROM', 2],
      ['ENV', 3],
      ['ENV', 4],
    ],
  );
  const env = expandInstruction(dockerfile.instructions[1]!, new Map(), { escape: '`' });
  assert.ok(env.kind === 'ENV');
  assert.deepEqual(env.pairs, [{ key: 'C', value: 'trailing`backtick`' }]);
});
