import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitWords } from './compose-words.js';

test('a string command splits as Compose 1.x splits it (Python shlex.split)', () => {
  const table: [string, string[]][] = [
    ['sleep 600', ['sleep', '600']],
    ['  spaced   out\targs\n', ['spaced', 'out', 'args']],
    [`sh -c 'echo "$HOME" && exit 1'`, ['sh', '-c', 'echo "$HOME" && exit 1']],
    ['echo "a b" c', ['echo', 'a b', 'c']],
    ['echo "say \\"hi\\""', ['echo', 'say "hi"']],
    ['echo "back\\\\slash"', ['echo', 'back\\slash']],
    ['echo "keep \\n"', ['echo', 'keep \\n']],
    ["echo 'no \\escape'", ['echo', 'no \\escape']],
    ['echo a\\ b', ['echo', 'a b']],
    ['echo ""', ['echo', '']],
    ["echo ''", ['echo', '']],
    ['echo pre"mid"post', ['echo', 'premidpost']],
    ['echo # not a comment', ['echo', '#', 'not', 'a', 'comment']],
    ['redis-server --appendonly yes', ['redis-server', '--appendonly', 'yes']],
    ['', []],
  ];
  for (const [input, want] of table) assert.deepEqual(splitWords(input), want, input);
});

test('an unclosed quote or a trailing backslash is refused', () => {
  assert.throws(() => splitWords('echo "open'), /no closing quotation/);
  assert.throws(() => splitWords("echo 'open"), /no closing quotation/);
  assert.throws(() => splitWords('echo end\\'), /no character after/);
});
