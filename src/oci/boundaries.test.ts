/**
 * Keeps src/oci a leaf (see README.md): its modules import only each other, node:crypto and
 * src/util/errors. Scans the compiled modules beside this test, so it checks what runs.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ALLOWED = [/^node:crypto$/, /^\.\/[a-z0-9-]+\.js$/, /^\.\.\/util\/errors\.js$/];
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;

function importsOf(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => m[1] ?? '');
}

describe('src/oci imports', () => {
  const modules = readdirSync(here).filter((f) => f.endsWith('.js') && !f.endsWith('.test.js'));

  it('finds the modules it guards', () => {
    for (const name of ['digest.js', 'manifest.js', 'reference.js']) assert.ok(modules.includes(name), name);
  });

  for (const file of modules) {
    it(`${file} imports only node:crypto, siblings and util/errors`, () => {
      const source = readFileSync(join(here, file), 'utf8');
      const outside = importsOf(source).filter((spec) => !ALLOWED.some((re) => re.test(spec)));
      assert.deepEqual(outside, [], `${file} imports ${outside.join(', ')}`);
    });
  }

  it('recognises the import forms it scans for', () => {
    assert.deepEqual(
      importsOf(`import { a } from './a.js';\nimport b from "node:fs";\nawait import('../x.js');`),
      ['./a.js', 'node:fs', '../x.js'],
    );
  });
});
