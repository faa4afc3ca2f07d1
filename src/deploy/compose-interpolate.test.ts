import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolate } from './compose-interpolate.js';

const env: Record<string, string> = { NAME: 'web', EMPTY: '', PORT: '8080', NESTED: 'inner' };
const vars = (name: string) => env[name];

test('interpolation follows Compose: the table', () => {
  const table: [string, string][] = [
    ['plain text', 'plain text'],
    ['$NAME', 'web'],
    ['${NAME}', 'web'],
    ['${NAME}-1', 'web-1'],
    ['$NAME.example', 'web.example'],
    ['${UNSET}', ''],
    ['$UNSET', ''],
    ['$$', '$'],
    ['$$NAME', '$NAME'],
    ['cost: $$5', 'cost: $5'],
    ['${UNSET:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${EMPTY-fallback}', ''],
    ['${UNSET-fallback}', 'fallback'],
    ['${NAME:-fallback}', 'web'],
    ['${UNSET:-a ${NESTED} b}', 'a inner b'],
    ['${UNSET:-${ALSO_UNSET:-deep}}', 'deep'],
    ['${NAME:+set}', 'set'],
    ['${EMPTY:+set}', ''],
    ['${EMPTY+set}', 'set'],
    ['${UNSET+set}', ''],
    ['${NAME:?must be set}', 'web'],
    ['${EMPTY?must be set}', ''],
    ['127.0.0.1:${PORT}:80', '127.0.0.1:8080:80'],
    ['${UNSET:-}', ''],
  ];
  for (const [input, want] of table) assert.equal(interpolate(input, vars), want, input);
});

test('a required variable names itself; a stray $ is an error, as in Compose', () => {
  assert.throws(() => interpolate('${DB_PASSWORD:?set it in .env}', vars), {
    code: 'COMPOSE_INTERPOLATION',
    message: 'required variable `DB_PASSWORD` is not set: set it in .env',
  });
  assert.throws(() => interpolate('${EMPTY:?}', vars), { message: 'required variable `EMPTY` is empty' });
  assert.throws(() => interpolate('${UNSET?}', vars), { message: 'required variable `UNSET` is not set' });
  assert.throws(() => interpolate('cost $5', vars), /`\$` must start a variable or be written `\$\$`/);
  assert.throws(() => interpolate('${NAME', vars), /no closing \}/);
  assert.throws(() => interpolate('${}', vars), /invalid interpolation format/);
  assert.throws(() => interpolate('${NAME:x}', vars), /invalid interpolation format/);
  assert.throws(() => interpolate('${1X}', vars), /invalid interpolation format/);
});
