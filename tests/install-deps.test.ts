/**
 * Every program skiff runs (src/util/programs.ts) and every program its tests and benchmarks
 * run (src/util/test-requirements.ts) is installed by scripts/install-deps.sh: the test asks
 * `dpkg -S` which package owns each program's file and checks that the script installs that
 * package. A new machine has only what the script installs, so a program missing from it
 * is found here and not by a user's first `skiff run`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO } from './helpers.js';
import { PROGRAMS, type Program } from '../src/util/programs.js';
import { TEST_FILES, TEST_PROGRAMS } from '../src/util/test-requirements.js';

/** The words of the `packages=( … )` array of scripts/install-deps.sh, comments left out. */
export function scriptPackages(script: string): Set<string> {
  const body = /^packages=\(\n?([\s\S]*?)^\)/m.exec(script);
  assert.ok(body, 'scripts/install-deps.sh has a packages=( … ) array');
  const words = body[1]!
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join(' ')
    .split(/\s+/)
    .filter((w) => w !== '');
  return new Set(words);
}

/** The package that owns `file` by dpkg's database, trying the /usr-merged and plain paths. */
function owner(file: string): string | undefined {
  const variants = [file, file.replace(/^\/usr\//, '/'), file.replace(/^\/(s?bin)\//, '/usr/$1/')];
  for (const candidate of new Set(variants)) {
    const r = spawnSync('dpkg', ['-S', candidate], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.split(':')[0]!.split(',')[0]!.trim();
  }
  return undefined;
}

/** Where Debian's packages put programs; not PATH, where a user's own copy may come first. */
function systemFile(name: string): string | undefined {
  return ['/usr/sbin', '/usr/bin', '/sbin', '/bin']
    .map((dir) => path.join(dir, name))
    .find((f) => fs.existsSync(f));
}

const script = fs.readFileSync(path.join(REPO, 'scripts', 'install-deps.sh'), 'utf8');
const packages = scriptPackages(script);

/**
 * The one program that may come from outside Debian: the docker CLI, which these machines
 * have as Docker's static client in /usr/local/bin (no package owns it). install-deps.sh
 * installs docker.io only when `command -v docker` finds none, not through the packages
 * array; so for docker, and only while the script does that, a copy on PATH outside the system
 * directories is accepted, and one inside them must still come from docker.io.
 */
const CONDITIONAL = /^if ! command -v docker >\/dev\/null; then\n[\s\S]*?apt-get install [^\n]*docker\.io/m;

function installedConditionally(key: string): boolean {
  return key === 'docker' && CONDITIONAL.test(script);
}

function outsideSystemDirs(key: string): boolean {
  if (systemFile(key) !== undefined) return false;
  const r = spawnSync('sh', ['-c', `command -v ${key}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}

function check(table: Record<string, Program>, locate: (key: string) => string | undefined): string[] {
  const problems: string[] = [];
  for (const [key, { package: pkg }] of Object.entries(table)) {
    if (installedConditionally(key)) {
      if (outsideSystemDirs(key)) continue;
    } else if (!packages.has(pkg)) problems.push(`${key}: its package ${pkg} is not in install-deps.sh`);
    const file = locate(key);
    if (file === undefined) {
      problems.push(`${key}: not installed (package ${pkg})`);
      continue;
    }
    const owned = owner(file);
    if (owned === undefined) problems.push(`${key}: ${file} belongs to no Debian package (expected ${pkg})`);
    else if (owned !== pkg) problems.push(`${key}: ${file} comes from ${owned}, the table says ${pkg}`);
  }
  return problems;
}

test('install-deps.sh installs every program skiff runs', () => {
  assert.deepEqual(check(PROGRAMS, systemFile), []);
});

test('install-deps.sh installs every program and file the tests and benchmarks use', () => {
  assert.deepEqual(check(TEST_PROGRAMS, systemFile), []);
  assert.deepEqual(
    check(TEST_FILES, (file) => (fs.existsSync(file) ? file : undefined)),
    [],
  );
});

test('the packages array is read whole, comments left out', () => {
  const read = scriptPackages(
    'x=1\npackages=(\n  # a comment with words\n  crun runc # trailing\n  zstd\n)\n',
  );
  assert.deepEqual([...read], ['crun', 'runc', 'zstd']);
});
