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
 * The CLI (and any other shell over skiff, such as an API service) goes through Engine: it
 * imports engine.ts, and util/ and oci/ for parsing and formatting, nothing else. What it
 * still reaches past Engine for is listed here; the list may only shrink.
 */
const CLI_REACHES_PAST_ENGINE = new Set([
  'build-commands.ts → ../build/add-source.js',
  'build-commands.ts → ../build/execute.js',
  'build-progress.ts → ../build/execute.js',
  'deploy-commands.ts → ../deploy/project-deploy.js',
  'deploy-commands.ts → ../deploy/project.js',
  'deploy-commands.ts → ../deploy/release-diff.js',
  'deploy-commands.ts → ../deploy/releases.js',
  'deploy-commands.ts → ../deploy/service-status.js',
  'deploy-commands.ts → ../runtime/health.js',
  'limit-flags.ts → ../store/ingest-limits.js',
  'registry-client-commands.ts → ../registry/client/progress.js',
  'registry-commands.ts → ../registry/server/gc.js',
  'registry-commands.ts → ../registry/server/htpasswd.js',
  'registry-commands.ts → ../registry/server/jwt.js',
  'registry-commands.ts → ../registry/server/server.js',
]);

test('cli/ imports only engine.ts, util/ and oci/ (beside a list that only shrinks)', () => {
  const cli = path.join(sourceRoot(), 'cli');
  const found = new Set<string>();
  for (const file of sources(cli)) {
    if (file.endsWith('.test.ts')) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/from\s*'(\.\.\/[^']+)'/g)) {
      const target = match[1]!;
      if (target === '../engine.js' || target.startsWith('../util/') || target.startsWith('../oci/'))
        continue;
      found.add(`${path.basename(file)} → ${target}`);
    }
  }
  assert.deepEqual(
    [...found].filter((f) => !CLI_REACHES_PAST_ENGINE.has(f)).sort(),
    [],
    'new reach past Engine',
  );
  assert.deepEqual(
    [...CLI_REACHES_PAST_ENGINE].filter((f) => !found.has(f)).sort(),
    [],
    'gone from the code: take it off the list',
  );
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
