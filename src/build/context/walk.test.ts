import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { walkContext } from './walk.js';
import { unmet } from '../../util/test-requirements.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A context from a map of relative path → content (a string ending in `/` is a directory). */
function makeContext(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-walk-'));
  dirs.push(root);
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    if (rel.endsWith('/')) fs.mkdirSync(abs, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, content);
    }
  }
  return root;
}

async function paths(root: string, options = {}): Promise<string[]> {
  return (await walkContext(root, options)).map((e) => `${e.path}${e.type === 'dir' ? '/' : ''}`);
}

test('no .dockerignore: everything, in path order, with types', async () => {
  const root = makeContext({ 'b.txt': 'b', 'a/x': 'x', 'a/y/': '', Dockerfile: 'FROM scratch' });
  assert.deepEqual(await paths(root), ['Dockerfile', 'a/', 'a/x', 'a/y/', 'b.txt']);
});

test('excluded directory is skipped whole; exceptions inside are still found', async () => {
  const root = makeContext({
    '.dockerignore': 'node_modules\nbuild\n!build/keep/**\n*.log\n',
    'node_modules/dep/index.js': '',
    'build/out.o': '',
    'build/keep/a.txt': '',
    'build/keep/deep/b.txt': '',
    'app.js': '',
    'debug.log': '',
    Dockerfile: '',
  });
  assert.deepEqual(await paths(root), [
    '.dockerignore',
    'Dockerfile',
    'app.js',
    'build/',
    'build/keep/',
    'build/keep/a.txt',
    'build/keep/deep/',
    'build/keep/deep/b.txt',
  ]);
});

test('Dockerfile and .dockerignore are left out when excluded: COPY never copies them', async () => {
  const root = makeContext({
    '.dockerignore': 'Dockerfile\n.dockerignore\n',
    Dockerfile: '',
    'docker/app.Dockerfile': '',
    other: '',
  });
  assert.deepEqual(await paths(root), ['docker/', 'docker/app.Dockerfile', 'other']);
});

test('ignore option replaces the file', async () => {
  const root = makeContext({ 'a.txt': '', 'b.md': '' });
  assert.deepEqual(await paths(root, { ignore: ['*.md'] }), ['a.txt']);
});

test('symlinks are listed, never followed, even when they point out of the context', async () => {
  const outside = makeContext({ 'secret/file': 'secret' });
  const root = makeContext({ 'f.txt': 'f' });
  fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'escape'));
  fs.symlinkSync('f.txt', path.join(root, 'link'));
  const entries = await walkContext(root);
  assert.deepEqual(
    entries.map((e) => [e.path, e.type, e.linkTarget]),
    [
      ['escape', 'symlink', path.join(outside, 'secret')],
      ['f.txt', 'file', undefined],
      ['link', 'symlink', 'f.txt'],
    ],
  );
});

test('a symlinked context root is resolved first', async () => {
  const root = makeContext({ 'x/a': '' });
  const link = path.join(path.dirname(root), `${path.basename(root)}-link`);
  fs.symlinkSync(root, link);
  dirs.push(link);
  assert.deepEqual(await paths(link), ['x/', 'x/a']);
});

test('missing context and bad patterns are one-line errors naming the input', async () => {
  await assert.rejects(
    walkContext('/nonexistent/skiff-ctx'),
    /build context `\/nonexistent\/skiff-ctx`: no such directory/,
  );
  const root = makeContext({ '.dockerignore': 'a[\n' });
  await assert.rejects(walkContext(root), /parse `\.dockerignore`: bad pattern `a\[`/);
});

test('an unreadable file or directory names its path (run as an unprivileged user)', (t) => {
  // root reads anything, so the check runs in a child with uid/gid nobody.
  if (process.getuid?.() !== 0) return unmet(t, 'root, to switch to an unprivileged user');
  const root = makeContext({ 'x/y': 'secret', 'ok/z': '', 'locked/inner': '' });
  fs.chmodSync(root, 0o755);
  fs.chmodSync(path.join(root, 'x/y'), 0o000);
  fs.chmodSync(path.join(root, 'locked'), 0o000);
  const walkUrl = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'walk.js')).href;
  // The child loads the code as root and only then becomes nobody: the checkout it runs from
  // need not be readable by nobody.
  const script = `
    const { walkContext } = await import(${JSON.stringify(walkUrl)});
    process.setgroups([]);
    process.setgid(65534);
    process.setuid(65534);
    for (const ignore of [['locked'], ['x']]) {
      try { await walkContext(${JSON.stringify(root)}, { ignore }); console.log('ok'); }
      catch (err) { console.log(err.message); }
    }`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  assert.deepEqual(res.stdout.trim().split('\n'), [
    'build context `x/y`: permission denied',
    'build context `locked`: permission denied',
  ]);
});
