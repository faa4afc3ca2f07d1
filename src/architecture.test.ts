/**
 * The dependency direction of DESIGN.md, enforced: a folder under src/ imports only folders
 * below it. Reads the TypeScript sources, so it also catches type-only imports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RANK: Record<string, number> = {
  util: 0,
  sys: 1,
  oci: 2,
  archive: 3,
  store: 4,
  image: 5,
  runtime: 6,
  registry: 6,
  build: 7,
  deploy: 8,
  // The bodies of Engine's groups of methods (engine/deploys.ts, …): engine.ts delegates to them.
  engine: 8.5,
  'engine.ts': 9,
  service: 9.5,
  cli: 10,
};

/** The project's src/, found from this compiled file in dist/src/ or from the source. */
function sourceRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return path.join(dir, 'src');
}

function* sources(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

function partOf(src: string, file: string): string {
  return path.relative(src, file).split(path.sep)[0]!;
}

test('no folder imports a folder above it', () => {
  const src = sourceRoot();
  assert.ok(fs.existsSync(path.join(src, 'engine.ts')), `src/ found at ${src}`);
  const violations: string[] = [];
  let checked = 0;
  for (const file of sources(src)) {
    const from = partOf(src, file);
    // Test files may reach anything below them, and quote imports in strings; the rule is for code.
    if (file.endsWith('.test.ts')) continue;
    if (!(from in RANK)) {
      violations.push(`${path.relative(src, file)}: folder \`${from}\` has no place in the dependency order`);
      continue;
    }
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = path.resolve(path.dirname(file), match[1]!);
      const to = partOf(src, target.replace(/\.js$/, '.ts'));
      checked++;
      if (to === from) continue;
      if (!(to in RANK) || RANK[to]! >= RANK[from]!) {
        violations.push(`${path.relative(src, file)} imports ${match[1]} (${from} → ${to})`);
      }
    }
  }
  assert.ok(checked > 20, `found imports to check (${checked})`);
  assert.deepEqual(violations, []);
});

/**
 * The CLI (and any other shell over skiff, such as the API service) goes through Engine: it
 * imports engine.ts, and util/ and oci/ for parsing and formatting, nothing else. The CLI's one
 * other import is the API service itself, which `skiff system service` runs: a sibling shell
 * over Engine, not a part below it.
 */
test('cli/ imports only engine.ts, util/ and oci/ (and the service it runs)', () => {
  const cli = path.join(sourceRoot(), 'cli');
  const found: string[] = [];
  for (const file of sources(cli)) {
    if (file.endsWith('.test.ts')) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.\/[^']+)'/g)) {
      const target = match[1]!;
      if (target === '../engine.js' || target.startsWith('../util/') || target.startsWith('../oci/'))
        continue;
      if (path.basename(file) === 'system-commands.ts' && target === '../service/server.js') continue;
      found.push(`${path.basename(file)} → ${target}`);
    }
  }
  assert.ok(fs.existsSync(cli), 'src/cli/ exists');
  assert.deepEqual(found, [], 'cli/ reaches past Engine');
});

test('service/ imports only engine.ts, util/ and oci/', () => {
  const service = path.join(sourceRoot(), 'service');
  const found: string[] = [];
  for (const file of sources(service)) {
    if (file.endsWith('.test.ts')) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.\/[^']+)'/g)) {
      const target = match[1]!;
      if (target === '../engine.js' || target.startsWith('../util/') || target.startsWith('../oci/'))
        continue;
      found.push(`${path.basename(file)} → ${target}`);
    }
  }
  assert.ok(fs.existsSync(service), 'src/service/ exists');
  assert.deepEqual(found, [], 'service/ reaches past Engine');
});
