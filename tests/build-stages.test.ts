/**
 * `skiff build` across stages and images (issue 4): independent stages run at once, ONBUILD
 * triggers run in the image built FROM the one that declared them (and only there),
 * `--no-cache-filter` re-runs one stage, FROM pulls from the registry its name gives (and
 * `--pull` refreshes it), and RUN's secret, ssh and writable bind mounts leave nothing in the
 * layer, the history or the cache key.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { discardRoot } from './container-testing.js';
import { busyboxTar, makeSandbox, oneLineError, SKIFF_BIN, type Sandbox } from './helpers.js';
import { serveCli } from '../src/registry/server/testing.js';
import { needs } from '../src/util/test-requirements.js';

describe(
  'skiff build: stages, triggers, pulls and secrets',
  { skip: needs('root', 'crun', 'conmon') },
  () => {
    let s: Sandbox;

    before(async () => {
      s = makeSandbox('skiff-build-stages-');
      await s.ok(['import', busyboxTar(), 'base:1', '-c', 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin']);
    });
    after(() => discardRoot(s));

    function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
      const dir = path.join(s.dir, name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
      for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
      return dir;
    }

    it('independent stages run at the same time: each waits for the other through a shared cache mount', async () => {
      // Run one after the other, the first stage would give up waiting for the second.
      const wait = (mine: string, theirs: string) =>
        `RUN --mount=type=cache,id=meet,target=/meet touch /meet/${mine} && ` +
        `for i in $(seq 100); do [ -e /meet/${theirs} ] && exit 0; sleep 0.1; done; exit 7`;
      const dir = context(
        'parallel',
        [
          'FROM base:1 AS left',
          wait('left', 'right'),
          'RUN echo left > /made',
          'FROM base:1 AS right',
          wait('right', 'left'),
          'RUN echo right > /made',
          'FROM base:1',
          'COPY --from=left /made /left',
          'COPY --from=right /made /right',
          'CMD ["cat", "/left", "/right"]',
          '',
        ].join('\n'),
      );
      const r = await s.ok(['build', '-t', 'parallel:1', dir]);
      assert.match(r.stdout, /Successfully tagged parallel:1/);
      assert.equal((await s.ok(['run', '--rm', 'parallel:1'])).stdout, 'left\nright\n');
    });

    it('ONBUILD triggers run in the child build, at its FROM line, and not in the grandchild', async () => {
      await s.ok([
        'build',
        '-t',
        'parent:1',
        context(
          'parent',
          'FROM base:1\nONBUILD COPY hello.txt /hello\nONBUILD RUN echo triggered >> /count\n',
        ),
      ]);
      const parent = await inspectConfig('parent:1');
      assert.deepEqual(parent.OnBuild, ['COPY hello.txt /hello', 'RUN echo triggered >> /count']);
      const child = await s.ok([
        'build',
        '-t',
        'child:1',
        context('child', 'FROM parent:1\nRUN cat /hello /count\n', {
          'hello.txt': 'hi from the child context\n',
        }),
      ]);
      assert.match(child.stdout, /hi from the child context\ntriggered\n/);
      assert.deepEqual((await inspectConfig('child:1')).OnBuild ?? [], []);
      const grandchild = await s.ok([
        'build',
        context('grandchild', 'FROM child:1\nRUN cat /count\n', { 'hello.txt': 'unused\n' }),
      ]);
      assert.match(grandchild.stdout, /\ntriggered\n ---> /, 'the trigger ran once, in the child');
      const missing = await s.skiff(['build', context('orphan', 'FROM parent:1\n')]);
      assert.equal(missing.code, 1);
      assert.match(oneLineError(missing.stderr), /^Error: Dockerfile:1: .*hello\.txt/);
    });

    it('--no-cache-filter runs the named stage again and takes the rest from the cache', async () => {
      const dir = context(
        'filter',
        'FROM base:1 AS deps\nRUN echo deps > /deps\nFROM base:1 AS build\nRUN date +%s%N > /stamp\nFROM base:1\nCOPY --from=deps /deps /deps\nCOPY --from=build /stamp /stamp\n',
      );
      await s.ok(['build', dir]);
      const r = await s.ok(['build', '--explain-cache', '--no-cache-filter', 'build', dir]);
      assert.match(r.stdout, /RUN echo deps > \/deps\n ---> Using cache/);
      assert.match(r.stdout, /RUN date \+%s%N > \/stamp\n ---> Cache miss: --no-cache/);
      assert.match(
        r.stdout,
        /COPY --from=build \/stamp \/stamp\n ---> Cache miss: the image of --from=build changed\n/,
      );
    });

    it('FROM an image named by its registry is pulled when missing; --pull fetches a newer one', async (t) => {
      const registry = await serveCli(SKIFF_BIN, path.join(s.dir, 'registry'));
      t.after(() => registry.stop());
      const { host } = registry;
      const ref = `${host}/lib/base:1`;
      await s.ok(['build', '-t', 'flavour:a', context('flavour-a', 'FROM base:1\nRUN echo a > /flavour\n')]);
      await s.ok(['push', '-q', 'flavour:a', ref]);
      const other = makeSandbox('skiff-build-pull-');
      t.after(() => discardRoot(other));
      const dir = context('pulling', `FROM ${ref}\nRUN cat /flavour\n`);
      assert.match((await other.ok(['build', dir])).stdout, /\na\n/);
      await s.ok(['build', '-t', 'flavour:b', context('flavour-b', 'FROM base:1\nRUN echo b > /flavour\n')]);
      await s.ok(['push', '-q', 'flavour:b', ref]);
      assert.match(
        (await other.ok(['build', dir])).stdout,
        /Using cache/,
        'without --pull the stored image is used',
      );
      assert.match((await other.ok(['build', '--pull', dir])).stdout, /\nb\n/);
      const bare = await other.skiff(['build', context('bare', 'FROM nothing-here:1\n')]);
      assert.match(oneLineError(bare.stderr), /FROM `nothing-here:1`: no such image in the store/);
    });

    it('RUN --mount=type=secret and ssh: there while the command runs, in no layer, history or cache key', async (t) => {
      const secretFile = path.join(s.dir, 'token.txt');
      fs.writeFileSync(secretFile, 'hunter2\n');
      const sock = path.join(s.dir, 'agent.sock');
      const agent = net.createServer((c) => c.end('agent here\n'));
      await new Promise<void>((resolve) => agent.listen(sock, resolve));
      t.after(() => agent.close());
      const dockerfile = [
        'FROM base:1',
        'RUN --mount=type=secret,id=token cat /run/secrets/token && stat -c "%a %u" /run/secrets/token',
        'RUN --mount=type=secret,id=token,target=/etc/app/token,mode=0440,uid=7 stat -c "%a %u" /etc/app/token',
        'RUN --mount=type=secret,id=token,env=TOKEN echo "env $TOKEN"',
        'RUN --mount=type=secret,id=absent ls /run/secrets/absent 2>&1 || echo "absent is absent"',
        'RUN --mount=type=ssh test -S $SSH_AUTH_SOCK && echo "sock=$SSH_AUTH_SOCK"',
        'RUN --mount=type=bind,source=data,target=/data,rw echo scribble > /data/new && ls /data',
        'RUN ls /run/secrets /etc/app /data 2>&1; true',
        '',
      ].join('\n');
      const dir = context('secrets', dockerfile, { data: '' });
      fs.rmSync(path.join(dir, 'data'));
      fs.mkdirSync(path.join(dir, 'data'));
      fs.writeFileSync(path.join(dir, 'data', 'kept.txt'), 'kept\n');
      const args = [
        'build',
        '-t',
        'secret:1',
        '--secret',
        `id=token,src=${secretFile}`,
        '--ssh',
        `default=${sock}`,
        dir,
      ];
      const r = await s.ok(args);
      assert.match(r.stdout, /hunter2\n400 0\n/);
      assert.match(r.stdout, /440 7\n/);
      assert.match(r.stdout, /env hunter2\n/);
      assert.match(r.stdout, /absent is absent\n/);
      assert.match(r.stdout, /sock=\/run\/buildkit\/ssh_agent\.0\n/);
      assert.match(r.stdout, /kept\.txt\nnew\n/);
      assert.match(
        r.stdout,
        /ls: \/run\/secrets: No such file or directory\nls: \/etc\/app: No such file or directory\nls: \/data: No such file or directory\n/,
      );
      assert.deepEqual(fs.readdirSync(path.join(dir, 'data')), ['kept.txt'], 'a rw bind writes to a copy');
      const saved = path.join(s.dir, 'secret.tar');
      await s.ok(['save', '-o', saved, 'secret:1']);
      assert.ok(!fs.readFileSync(saved).includes('hunter2'), 'the secret is in no layer or config');
      fs.writeFileSync(secretFile, 'changed\n');
      const again = await s.ok(args);
      assert.equal((again.stdout.match(/Using cache/g) ?? []).length, 7, 'a secret is not part of the key');
      const missing = await s.skiff([
        'build',
        context('secret-required', 'FROM base:1\nRUN --mount=type=secret,id=x,required true\n'),
      ]);
      assert.equal(missing.code, 1);
      assert.match(
        oneLineError(missing.stderr),
        /^Error: Dockerfile:2: RUN --mount=type=secret: no secret `x` was given \(--secret id=x,src=FILE\)/,
      );
    });

    it('--progress tty: a line per step with its time, CACHED from the cache, RUN output indented under it', async () => {
      const dir = context('tty', 'FROM base:1\nRUN echo made by run\nENV A=1\n');
      // What a terminal shows: colours dropped, each line as its last redraw (after its last \r).
      const plain = (text: string) =>
        text
          // eslint-disable-next-line no-control-regex
          .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
          .split('\n')
          .map((line) => line.slice(line.lastIndexOf('\r') + 1))
          .join('\n');
      const first = plain((await s.ok(['build', '--progress', 'tty', dir])).stdout);
      assert.match(first, /^=> \[1\/3\] FROM base:1$/m);
      assert.match(first, /^ {4}made by run\n(.*\n)?=> \[2\/3\] RUN echo made by run {2}\d+\.\ds$/m);
      const again = plain((await s.ok(['build', '--progress', 'tty', dir])).stdout);
      assert.match(again, /^=> CACHED \[2\/3\] RUN echo made by run$/m);
      assert.match(again, /^=> CACHED \[3\/3\] ENV A=1$/m);
      assert.doesNotMatch(again, /made by run\n {4}made by run/);
      const bad = await s.skiff(['build', '--progress', 'fancy', dir]);
      assert.match(oneLineError(bad.stderr), /invalid --progress `fancy` \(auto, plain, tty or json\)/);
    });

    it('after every bad input above, the store is whole: system check finds nothing wrong, tmp/ holds nothing', async () => {
      assert.deepEqual((await s.check()).problems, []);
      assert.deepEqual(fs.readdirSync(path.join(s.root, 'tmp')), []);
    });

    async function inspectConfig(image: string): Promise<{ OnBuild?: string[] | null }> {
      const r = await s.ok(['inspect', image]);
      return (JSON.parse(r.stdout) as { Config: { OnBuild?: string[] | null } }[])[0]!.Config;
    }
  },
);
