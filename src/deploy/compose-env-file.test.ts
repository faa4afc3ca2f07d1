import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEnvFile } from './compose-env-file.js';

test('env files in the dotenv form Compose reads', () => {
  const text = [
    '# a comment',
    '',
    'PLAIN=value',
    'SPACED = padded value  ',
    'export EXPORTED=yes',
    "SINGLE='kept $as \\n is'",
    'DOUBLE="line\\nbreak \\"quoted\\""',
    'INLINE=value # comment',
    'HASH=a#b',
    'EMPTY=',
    'BARE',
  ].join('\n');
  assert.deepEqual(
    parseEnvFile(text, '.env').map((e) => [e.name, e.value]),
    [
      ['PLAIN', 'value'],
      ['SPACED', 'padded value'],
      ['EXPORTED', 'yes'],
      ['SINGLE', 'kept $as \\n is'],
      ['DOUBLE', 'line\nbreak "quoted"'],
      ['INLINE', 'value'],
      ['HASH', 'a#b'],
      ['EMPTY', ''],
      ['BARE', undefined],
    ],
  );
  assert.throws(
    () => parseEnvFile('GOOD=1\nnot a line\n', 'app.env'),
    /read `app.env`:2: expected NAME=VALUE/,
  );
  assert.throws(() => parseEnvFile('Q="open\n', 'app.env'), /read `app.env`:1: no closing "/);
});
