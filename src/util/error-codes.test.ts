/**
 * The error catalogue is complete and the docs show it: every code the sources throw is
 * listed (so each has one exit status and one HTTP status), and docs/errors.md is the table
 * rendered from it. `UPDATE_DOCS=1` rewrites the doc instead of failing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ERROR_CODES, errorCodeTable, exitStatusOf, httpStatusOf } from './error-codes.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) return sources(file);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('-testing.ts')
      ? [file]
      : [];
  });
}

/** Codes given as literals where a SkiffError is made: `code: 'X'`, `super('X'`, `RegistryError(404, 'X'`. */
function thrownCodes(text: string): string[] {
  const found: string[] = [];
  for (const re of [
    /\bcode: '([A-Z][A-Z_]+)'/g,
    /\bsuper\('([A-Z][A-Z_]+)'/g,
    /RegistryError\(\d+, '([A-Z_]+)'/g,
  ])
    for (const m of text.matchAll(re)) found.push(m[1]!);
  // Node's own errno codes put on plain Errors (a timed-out socket) are not skiff's.
  return found.filter((code) => !/^E[A-Z]+$/.test(code) || code in ERROR_CODES);
}

test('every code the sources throw is in the catalogue', () => {
  const missing: string[] = [];
  for (const file of sources(path.join(REPO, 'src')))
    for (const code of thrownCodes(fs.readFileSync(file, 'utf8')))
      if (!(code in ERROR_CODES)) missing.push(`${path.relative(REPO, file)}: ${code}`);
  assert.deepEqual(missing, []);
});

test('statuses come from the catalogue, and from the category for a code it does not know', () => {
  assert.equal(httpStatusOf('CONTAINER_NOT_FOUND', 'not_found'), 404);
  assert.equal(httpStatusOf('NOT_MODIFIED', 'failed_precondition'), 304);
  assert.equal(httpStatusOf('SOME_REMOTE_CODE', 'invalid_argument'), 400);
  assert.equal(exitStatusOf('USAGE'), 2);
  assert.equal(exitStatusOf('COMMAND_NOT_FOUND'), 127);
  assert.equal(exitStatusOf('IMAGE_NOT_FOUND'), 1);
});

test('docs/errors.md is the catalogue rendered', () => {
  const file = path.join(REPO, 'docs/errors.md');
  const expected = errorCodeTable();
  if (process.env.UPDATE_DOCS === '1') fs.writeFileSync(file, expected);
  assert.equal(fs.readFileSync(file, 'utf8'), expected, 'docs/errors.md is stale: run with UPDATE_DOCS=1');
});
