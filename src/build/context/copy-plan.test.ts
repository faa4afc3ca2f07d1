/**
 * Cases follow the Dockerfile reference's COPY section (docs.docker.com): its examples of
 * wildcards, `--parents` with the `/./` pivot, `--exclude`, and the trailing-slash rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planCopy, type CopyRequest, type PlanInput } from './copy-plan.js';
import { InvalidArgument, NotFound } from '../../util/errors.js';

const file = (p: string): PlanInput => ({ path: p, type: 'file' });
const dir = (p: string): PlanInput => ({ path: p, type: 'dir' });
const link = (p: string, target: string): PlanInput => ({ path: p, type: 'symlink', linkTarget: target });

/** A walked context, in walk order. */
const CONTEXT: PlanInput[] = [
  file('Dockerfile'),
  file('README.md'),
  link('abs-link', '/app/main.js'),
  dir('app'),
  file('app/.env'),
  dir('app/lib'),
  file('app/lib/util.js'),
  file('app/lib/util.test.js'),
  file('app/main.js'),
  file('data[1].txt'),
  dir('docs'),
  file('docs/api.md'),
  file('docs/guide.md'),
  link('escape', '../../etc'),
  file('home.txt'),
  dir('homedir'),
  file('homedir/notes.txt'),
  file('homedir/run.sh'),
  file('homer.md'),
  link('link-to-app', 'app'),
  link('link-to-readme', './README.md'),
  link('loop1', 'loop2'),
  link('loop2', 'loop1'),
];

const APP = [
  'app -> /dst (dir)',
  'app/.env -> /dst/.env (file)',
  'app/lib -> /dst/lib (dir)',
  'app/lib/util.js -> /dst/lib/util.js (file)',
  'app/lib/util.test.js -> /dst/lib/util.test.js (file)',
  'app/main.js -> /dst/main.js (file)',
];

type Case = [
  name: string,
  request: Omit<CopyRequest, 'instruction'> & { instruction?: string },
  want: string[] | RegExp,
];

const CASES: Case[] = [
  // A file source, and where dest's spelling puts it.
  ['file into dir', { sources: ['README.md'], dest: '/app/' }, ['README.md -> /app/README.md (file)']],
  [
    'file to a new name',
    { sources: ['README.md'], dest: '/app/readme.txt' },
    ['README.md -> /app/readme.txt (file)'],
  ],
  [
    'relative dest joins WORKDIR',
    { sources: ['README.md'], dest: 'readme', workdir: '/srv' },
    ['README.md -> /srv/readme (file)'],
  ],
  [
    'dest "." is WORKDIR as a directory',
    { sources: ['README.md'], dest: '.', workdir: '/srv' },
    ['README.md -> /srv/README.md (file)'],
  ],
  [
    'dest "./"',
    { sources: ['README.md'], dest: './', workdir: '/srv' },
    ['README.md -> /srv/README.md (file)'],
  ],
  [
    'dest ".."',
    { sources: ['README.md'], dest: '..', workdir: '/srv/x' },
    ['README.md -> /srv/README.md (file)'],
  ],
  [
    'relative dest without WORKDIR is under /',
    { sources: ['README.md'], dest: 'x' },
    ['README.md -> /x (file)'],
  ],
  [
    'absolute dest ignores WORKDIR',
    { sources: ['README.md'], dest: '/opt/', workdir: '/srv' },
    ['README.md -> /opt/README.md (file)'],
  ],
  [
    'nested file into dir',
    { sources: ['app/lib/util.js'], dest: '/d/' },
    ['app/lib/util.js -> /d/util.js (file)'],
  ],
  // A directory source copies its contents.
  ['dir copies contents', { sources: ['app'], dest: '/dst' }, APP],
  ['dir with slashes', { sources: ['app/'], dest: '/dst/' }, APP],
  ['dir spelled ./app', { sources: ['./app'], dest: '/dst' }, APP],
  [
    'subdir',
    { sources: ['app/lib'], dest: '/l' },
    [
      'app/lib -> /l (dir)',
      'app/lib/util.js -> /l/util.js (file)',
      'app/lib/util.test.js -> /l/util.test.js (file)',
    ],
  ],
  [
    'the context root, spelled /',
    { sources: ['/'], dest: '/src', exclude: ['*', '!Dockerfile'] },
    ['. -> /src (dir)', 'Dockerfile -> /src/Dockerfile (file)'],
  ],
  // Sources are relative to the context root, and may not leave it.
  [
    'absolute source is context-relative',
    { sources: ['/README.md'], dest: '/x' },
    ['README.md -> /x (file)'],
  ],
  [
    '"/.." at the root stays at the root',
    { sources: ['/../README.md'], dest: '/x' },
    ['README.md -> /x (file)'],
  ],
  [
    '../ is outside the context',
    { sources: ['../secret'], dest: '/x' },
    /COPY `\.\.\/secret`: source is outside the build context/,
  ],
  [
    '.. through a dir is outside',
    { sources: ['app/../../x'], dest: '/x' },
    /COPY `app\/\.\.\/\.\.\/x`: source is outside/,
  ],
  [
    'missing source',
    { sources: ['missing.txt'], dest: '/x' },
    /COPY `missing\.txt`: not found in the build context/,
  ],
  [
    'instruction named in errors',
    { instruction: 'ADD (line 3)', sources: ['nope'], dest: '/x' },
    /^ADD \(line 3\) `nope`/,
  ],
  ['no sources', { sources: [], dest: '/x' }, /COPY: no source given/],
  // Several sources need a dest directory ending in /.
  [
    'two sources, dest without slash',
    { sources: ['README.md', 'home.txt'], dest: '/dst' },
    /COPY to `\/dst`: with more than one source/,
  ],
  [
    'two sources into a dir',
    { sources: ['README.md', 'home.txt'], dest: '/dst/' },
    ['README.md -> /dst/README.md (file)', 'home.txt -> /dst/home.txt (file)'],
  ],
  // Wildcards, one segment at a time.
  [
    'hom* (the reference example)',
    { sources: ['hom*'], dest: '/d/' },
    [
      'home.txt -> /d/home.txt (file)',
      'homedir -> /d (dir)',
      'homedir/notes.txt -> /d/notes.txt (file)',
      'homedir/run.sh -> /d/run.sh (file)',
      'homer.md -> /d/homer.md (file)',
    ],
  ],
  ['single wildcard match to a file dest', { sources: ['hom?.txt'], dest: '/d' }, ['home.txt -> /d (file)']],
  [
    'several matches need a dir dest',
    { sources: ['*.md'], dest: '/d' },
    /COPY to `\/d`: with more than one source/,
  ],
  [
    'wildcard matching nothing',
    { sources: ['*.nothing'], dest: '/d/' },
    /COPY `\*\.nothing`: no file in the build context matches/,
  ],
  ['* does not cross /', { sources: ['app/*.js'], dest: '/d/' }, ['app/main.js -> /d/main.js (file)']],
  [
    'wildcard in a dir segment',
    { sources: ['app/*/util.js'], dest: '/d/' },
    ['app/lib/util.js -> /d/util.js (file)'],
  ],
  ['? is one character', { sources: ['docs/?pi.md'], dest: '/d/' }, ['docs/api.md -> /d/api.md (file)']],
  [
    'character class',
    { sources: ['docs/[ag]*.md'], dest: '/d/' },
    ['docs/api.md -> /d/api.md (file)', 'docs/guide.md -> /d/guide.md (file)'],
  ],
  ['negated class', { sources: ['docs/[^a]*.md'], dest: '/d/' }, ['docs/guide.md -> /d/guide.md (file)']],
  [
    'escaped bracket inside a wildcard source',
    { sources: ['da*\\[1\\].txt'], dest: '/d/' },
    ['data[1].txt -> /d/data[1].txt (file)'],
  ],
  ['* matches dot files', { sources: ['app/.e*'], dest: '/d/' }, ['app/.env -> /d/.env (file)']],
  // --exclude, matched against the path as it lands below dest.
  [
    '--exclude=*.txt hom* (the reference example)',
    { sources: ['hom*'], dest: '/d/', exclude: ['*.txt'] },
    ['homedir -> /d (dir)', 'homedir/run.sh -> /d/run.sh (file)', 'homer.md -> /d/homer.md (file)'],
  ],
  [
    '--exclude a subdirectory drops its contents',
    { sources: ['app'], dest: '/dst', exclude: ['lib'] },
    ['app -> /dst (dir)', 'app/.env -> /dst/.env (file)', 'app/main.js -> /dst/main.js (file)'],
  ],
  [
    '--exclude=**/*.test.js',
    { sources: ['app'], dest: '/dst', exclude: ['**/*.test.js'] },
    APP.filter((l) => !l.includes('test')),
  ],
  [
    '--exclude with an exception',
    { sources: ['docs'], dest: '/d', exclude: ['*.md', '!api.md'] },
    ['docs -> /d (dir)', 'docs/api.md -> /d/api.md (file)'],
  ],
  [
    'a bad --exclude pattern is named',
    { sources: ['docs'], dest: '/d', exclude: ['[x'] },
    /parse `--exclude`: bad pattern `\[x`/,
  ],
  // --parents keeps the source's path.
  [
    '--parents file',
    { sources: ['app/lib/util.js'], dest: '/dst/', parents: true },
    ['app/lib/util.js -> /dst/app/lib/util.js (file)'],
  ],
  [
    '--parents dir',
    { sources: ['app/lib'], dest: '/dst', parents: true },
    [
      'app/lib -> /dst/app/lib (dir)',
      'app/lib/util.js -> /dst/app/lib/util.js (file)',
      'app/lib/util.test.js -> /dst/app/lib/util.test.js (file)',
    ],
  ],
  [
    '--parents with the /./ pivot',
    { sources: ['./app/./lib/util.js'], dest: '/dst/', parents: true },
    ['app/lib/util.js -> /dst/lib/util.js (file)'],
  ],
  [
    '--parents with a wildcard and a dest without slash',
    { sources: ['docs/*.md'], dest: '/d', parents: true },
    ['docs/api.md -> /d/docs/api.md (file)', 'docs/guide.md -> /d/docs/guide.md (file)'],
  ],
  [
    '--parents several sources',
    { sources: ['README.md', 'app/main.js'], dest: '/d', parents: true },
    ['README.md -> /d/README.md (file)', 'app/main.js -> /d/app/main.js (file)'],
  ],
  // Sources that are symlinks are followed inside the context.
  ['symlink to a file', { sources: ['link-to-readme'], dest: '/x' }, ['README.md -> /x (file)']],
  [
    'symlink to a file, into a dir keeps the link name',
    { sources: ['link-to-readme'], dest: '/x/' },
    ['README.md -> /x/link-to-readme (file)'],
  ],
  ['symlink to a dir', { sources: ['link-to-app'], dest: '/dst' }, APP],
  [
    'absolute link target is context-relative',
    { sources: ['abs-link'], dest: '/m.js' },
    ['app/main.js -> /m.js (file)'],
  ],
  [
    'a link cannot leave the context',
    { sources: ['escape'], dest: '/x' },
    /COPY `escape`: not found in the build context/,
  ],
  ['link loop', { sources: ['loop1'], dest: '/x' }, /COPY `loop1`: too many levels of symbolic links/],
];

for (const [name, request, want] of CASES) {
  test(`COPY plan: ${name}`, () => {
    const run = () => planCopy(CONTEXT, { instruction: 'COPY', ...request });
    if (want instanceof RegExp) {
      assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof InvalidArgument || err instanceof NotFound, String(err));
        assert.match(err.message, want);
        assert.ok(!err.message.includes('\n'), 'one line');
        return true;
      });
      return;
    }
    assert.deepEqual(
      run().map((e) => `${e.from} -> ${e.to} (${e.type})`),
      want,
    );
  });
}

test('COPY plan: the whole context keeps symlinks inside as symlinks', () => {
  const plan = planCopy(CONTEXT, { instruction: 'COPY', sources: ['.'], dest: '/src' });
  assert.equal(plan.length, CONTEXT.length + 1);
  assert.deepEqual(plan[0], { from: '.', to: '/src', type: 'dir' });
  assert.deepEqual(
    plan.find((e) => e.from === 'escape'),
    { from: 'escape', to: '/src/escape', type: 'symlink' },
  );
});
