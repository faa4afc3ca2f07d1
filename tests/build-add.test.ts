/**
 * `skiff build` beyond plain COPY (issue 4): ADD of local archives (extracted whatever their
 * compression, never outside the destination) and of URLs from a loopback server, COPY from
 * here-documents, `--chown` by name, RUN here-documents fed to a command or run as a script,
 * and `--explain-cache` naming the file that changed. Bad input: a 404, a wrong --checksum, an
 * unknown user, an archive with a whiteout name.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { discardRoot } from './container-testing.js';
import { busyboxTar, makeSandbox, oneLineError, sha256, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

const LAST_MODIFIED = 'Tue, 03 Mar 2026 10:00:00 GMT';

describe(
  'skiff build: ADD, here-documents, --chown by name',
  { skip: needs('root', 'crun', 'conmon', 'xz', 'bzip2', 'zstd') },
  () => {
    let s: Sandbox;
    let server: http.Server;
    let base: string;
    let served = 'served v1\n';

    before(async () => {
      s = makeSandbox('skiff-build-add-');
      await s.ok(['import', busyboxTar(), 'base:1', '-c', 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin']);
      server = http.createServer((req, res) => {
        if (req.url === '/files/served.txt') {
          res.writeHead(200, { 'last-modified': LAST_MODIFIED, 'content-type': 'text/plain' });
          res.end(served);
        } else if (req.url === '/moved') {
          res.writeHead(302, { location: '/files/served.txt' });
          res.end();
        } else {
          res.writeHead(404);
          res.end('no');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      server.close();
      await discardRoot(s);
    });

    function context(name: string, dockerfile: string): string {
      const dir = path.join(s.dir, name);
      fs.mkdirSync(path.join(dir, 'tree', 'sub'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'tree', 'top.txt'), 'top\n');
      fs.writeFileSync(path.join(dir, 'tree', 'sub', 'deep.txt'), 'deep\n');
      fs.symlinkSync('top.txt', path.join(dir, 'tree', 'link'));
      fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
      return dir;
    }

    function sh(cmd: string, cwd: string): void {
      const r = spawnSync('sh', ['-c', cmd], { cwd, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }

    it('ADD extracts tar archives of every compression by content, copies anything else as it is', async () => {
      const dir = context(
        'archives',
        [
          'FROM base:1',
          'ADD plain.tar /a/',
          'ADD packed.tgz /b',
          'ADD packed.txz packed.tbz packed.tzst /c/',
          'ADD not-a-tar.gz data.bin /d/',
          'COPY packed.tgz /e/',
          'ADD dir/ /f/',
          'RUN find /a /b /c /d /e /f | sort && cat /b/tree/link /c/tree/sub/deep.txt',
          '',
        ].join('\n'),
      );
      sh('tar --owner=12 --group=34 -cf plain.tar tree && tar -czf packed.tgz tree', dir);
      sh('tar -cJf packed.txz tree && tar -cjf packed.tbz tree && tar -c tree | zstd -q > packed.tzst', dir);
      sh('echo not a tar | gzip > not-a-tar.gz && head -c 600 /dev/zero > data.bin', dir);
      sh('mkdir dir && cp packed.tgz dir/inner.tgz', dir);
      const r = await s.ok(['build', '-t', 'add:1', dir]);
      const tree = ['/tree', '/tree/link', '/tree/sub', '/tree/sub/deep.txt', '/tree/top.txt'];
      const expected = [
        '/a',
        ...tree.map((p) => `/a${p}`),
        '/b',
        ...tree.map((p) => `/b${p}`),
        '/c',
        ...tree.map((p) => `/c${p}`),
        '/d',
        '/d/data.bin',
        '/d/not-a-tar.gz',
        '/e',
        '/e/packed.tgz',
        '/f',
        '/f/inner.tgz',
      ].sort();
      assert.ok(r.stdout.includes(`${expected.join('\n')}\ntop\ndeep\n`), r.stdout);
      const owners = await s.ok([
        'run',
        '--rm',
        'add:1',
        'sh',
        '-c',
        'stat -c "%u:%g %a" /a/tree/top.txt /b/tree/top.txt',
      ]);
      assert.equal(owners.stdout, '12:34 644\n0:0 644\n', "an archive's owners are kept");
    });

    it('ADD of an archive never writes outside its destination, and refuses whiteout names', async () => {
      const dir = context(
        'evil',
        'FROM base:1\nADD evil.tar /dest/\nRUN find /dest | sort; ls /escaped 2>&1 || true\n',
      );
      // Python's tarfile writes the names as given: `..` entries, an absolute path, a hard link out.
      sh(
        `python3 - <<'EOF'
import io, tarfile
with tarfile.open('evil.tar', 'w') as t:
    for name in ['../../escaped', '/abs/file', 'ok/../../../escaped2']:
        data = b'x\\n'
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
    link = tarfile.TarInfo('hl'); link.type = tarfile.LNKTYPE; link.linkname = '../../abs/file'; t.addfile(link)
EOF`,
        dir,
      );
      const r = await s.ok(['build', '-t', 'evil:1', dir]);
      assert.ok(
        r.stdout.includes('/dest\n/dest/abs\n/dest/abs/file\n/dest/escaped\n/dest/escaped2\n/dest/hl\n'),
        r.stdout,
      );
      assert.match(r.stdout, /ls: \/escaped: No such file or directory/);

      const wh = context('whiteout', 'FROM base:1\nADD wh.tar /\n');
      sh('mkdir -p x && echo > x/.wh.bin && tar -cf wh.tar x && rm -r x', wh);
      const bad = await s.skiff(['build', '-t', 'wh:1', wh]);
      assert.equal(bad.code, 1);
      assert.match(
        oneLineError(bad.stderr),
        /ADD `wh\.tar`: archive entry `x\/\.wh\.bin` has a whiteout name/,
      );
      assert.equal((await s.skiff(['inspect', 'wh:1'])).code, 1, 'nothing tagged');
    });

    it('ADD of a URL: mode 0600, Last-Modified as mtime, redirects followed, --checksum checked, cached by content', async () => {
      const sum = sha256(served).slice(7);
      const dockerfile = [
        'FROM base:1',
        `ADD ${base}/files/served.txt /web/`,
        `ADD --checksum=sha256:${sum} ${base}/moved /web/renamed.txt`,
        'RUN stat -c "%n %a %u %Y" /web/served.txt /web/renamed.txt && cat /web/renamed.txt',
        '',
      ].join('\n');
      const dir = context('url', dockerfile);
      const r = await s.ok(['build', '-t', 'url:1', dir]);
      const mtime = Date.parse(LAST_MODIFIED) / 1000;
      assert.ok(
        r.stdout.includes(`/web/served.txt 600 0 ${mtime}\n/web/renamed.txt 600 0 ${mtime}\nserved v1\n`),
        r.stdout,
      );
      const again = await s.ok(['build', '--explain-cache', '-t', 'url:1', dir]);
      assert.equal((again.stdout.match(/Using cache/g) ?? []).length, 3, again.stdout);
      served = 'served v2\n';
      const changed = await s.ok([
        'build',
        '--explain-cache',
        '-t',
        'url:2',
        context('url2', dockerfile.replace(/--checksum=\S+ /, '')),
      ]);
      assert.match(
        changed.stdout,
        new RegExp(
          `Step 2/4 : ADD ${base}/files/served.txt /web/\\n ---> Cache miss: ${base}/files/served.txt changed\\n`,
        ),
      );

      const wrong = await s.skiff(['build', context('url-sum', dockerfile)]);
      assert.equal(wrong.code, 1);
      assert.match(
        oneLineError(wrong.stderr),
        /^Error: Dockerfile:3: ADD .*\/moved: --checksum=sha256:[0-9a-f]+ does not match the content/,
      );
      const missing = await s.skiff(['build', context('url-404', `FROM base:1\nADD ${base}/nothing /x\n`)]);
      assert.equal(missing.code, 1);
      assert.match(
        oneLineError(missing.stderr),
        /^Error: Dockerfile:2: ADD .*\/nothing: the server answered 404/,
      );
      assert.deepEqual(
        fs.readdirSync(path.join(s.root, 'tmp')).filter((n) => n.startsWith('build-')),
        [],
        'no download is left behind',
      );
    });

    it('COPY from here-documents (expanded unless quoted), RUN here-documents fed to a command or run by their #!', async () => {
      const dir = context(
        'heredoc',
        [
          'FROM base:1',
          'ARG WHO=world',
          'COPY <<EOF /etc/greeting',
          'hello $WHO "kept quotes" \\$HOME',
          'EOF',
          'COPY <<"EOF" /etc/literal',
          'hello $WHO',
          'EOF',
          'COPY --chmod=755 <<one <<two /multi/',
          'first',
          'one',
          'second',
          'two',
          'RUN cat <<EOF > /fed && tr a-z A-Z <<-"END" >> /fed',
          'fed $WHO',
          'EOF',
          '\tshout $WHO',
          '\tEND',
          'RUN <<EOF',
          '#!/bin/sh -e',
          'echo "script as $0" > /script',
          'EOF',
          'CMD ["sh", "-c", "cat /etc/greeting /etc/literal /multi/one /multi/two /fed /script; stat -c %a /multi/one"]',
          '',
        ].join('\n'),
      );
      await s.ok(['build', '-t', 'heredoc:1', dir]);
      const r = await s.ok(['run', '--rm', 'heredoc:1']);
      assert.equal(
        r.stdout,
        'hello world "kept quotes" $HOME\nhello $WHO\nfirst\nsecond\nfed world\nSHOUT $WHO\nscript as /dev/pipes/EOF\n755\n',
      );
    });

    it('--chown by name: looked up in the image as the step runs, after a RUN made the user', async () => {
      const dir = context(
        'chown',
        [
          'FROM base:1',
          'RUN echo app:x:1234:1235::/home/app:/bin/sh >> /etc/passwd && echo app:x:1235: >> /etc/group && echo web:x:77: >> /etc/group',
          'COPY --chown=app tree/top.txt /owned-by-name',
          'COPY --chown=app:web tree/ /owned-dir/',
          'COPY --chown=1234:web tree/top.txt /mixed',
          'ADD --chown=app plain.tar /extracted/',
          'RUN stat -c "%n %u:%g" /owned-by-name /owned-dir/top.txt /owned-dir/sub /mixed /extracted/tree/top.txt',
          '',
        ].join('\n'),
      );
      sh('tar --owner=5 --group=5 -cf plain.tar tree', dir);
      const r = await s.ok(['build', '-t', 'chown:1', dir]);
      assert.ok(
        r.stdout.includes(
          '/owned-by-name 1234:1235\n/owned-dir/top.txt 1234:77\n/owned-dir/sub 1234:77\n/mixed 1234:77\n/extracted/tree/top.txt 1234:1235\n',
        ),
        r.stdout,
      );
      const bad = await s.skiff([
        'build',
        context('chown-bad', 'FROM base:1\nCOPY --chown=nobody-here tree /x\n'),
      ]);
      assert.equal(bad.code, 1);
      assert.match(
        oneLineError(bad.stderr),
        /^Error: Dockerfile:2: --chown=nobody-here: unable to find user `nobody-here`/,
      );
    });

    it('a context file that cannot be copied (a fifo) is an error naming the Dockerfile line', async () => {
      const dir = context('fifo', 'FROM base:1\nCOPY . /x\n');
      sh('mkfifo pipe', dir);
      const r = await s.skiff(['build', '-t', 'fifo:1', dir]);
      assert.equal(r.code, 1);
      assert.match(
        oneLineError(r.stderr),
        /^Error: Dockerfile:2: copy `pipe` to `\/x\/pipe`: not a file, directory or symlink$/,
      );
      assert.equal((await s.skiff(['inspect', 'fifo:1'])).code, 1, 'nothing tagged');
      assert.deepEqual(
        fs.readdirSync(path.join(s.root, 'tmp')).filter((n) => n.startsWith('layer-')),
        [],
        'no half layer',
      );
    });

    it('COPY into an existing directory keeps its mode and owner (/tmp stays 1777)', async () => {
      const dir = context(
        'parents',
        'FROM base:1\nRUN mkdir -p /tmp && chmod 1777 /tmp && chown 5:6 /tmp\nCOPY tree/top.txt /tmp/sub/file\nRUN stat -c "%n %a %u:%g" /tmp /tmp/sub\n',
      );
      const r = await s.ok(['build', dir]);
      assert.ok(r.stdout.includes('/tmp 1777 5:6\n/tmp/sub 755 0:0\n'), r.stdout);
    });

    it('COPY --parents keeps source paths (after a /./ pivot), --exclude drops matches', async () => {
      const dir = context(
        'copy-parents',
        [
          'FROM base:1',
          'COPY x/a.txt y/a.txt /no-parents/',
          'COPY --parents x/a.txt y/a.txt /parents/',
          'COPY --parents ./x/./deep/*.txt /pivot/',
          'COPY --exclude=*.log --exclude=y tree x /excluded/',
          'RUN cd / && find /no-parents /parents /pivot /excluded | sort && cat /no-parents/a.txt',
          '',
        ].join('\n'),
      );
      for (const [file, text] of Object.entries({
        'x/a.txt': 'x\n',
        'y/a.txt': 'y\n',
        'x/deep/b.txt': 'b\n',
        'x/deep/c.log': 'c\n',
        'x/y/z.txt': 'z\n',
        'tree/debug.log': 'd\n',
      })) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
      }
      const r = await s.ok(['build', dir]);
      const expected = [
        '/excluded',
        '/excluded/a.txt',
        '/excluded/deep',
        '/excluded/deep/b.txt',
        // Patterns match as in .dockerignore, from the copied directory: *.log is its top only.
        '/excluded/deep/c.log',
        '/excluded/link',
        '/excluded/sub',
        '/excluded/sub/deep.txt',
        '/excluded/top.txt',
        '/no-parents',
        '/no-parents/a.txt',
        '/parents',
        '/parents/x',
        '/parents/x/a.txt',
        '/parents/y',
        '/parents/y/a.txt',
        '/pivot',
        '/pivot/deep',
        '/pivot/deep/b.txt',
        'y',
      ];
      assert.ok(r.stdout.includes(`${expected.join('\n')}\n`), r.stdout);
    });

    it('build -: a Dockerfile on stdin with an empty context, or a tar context (-f inside it)', async () => {
      const alone = await s.ok(['build', '-t', 'stdin:1', '-'], {
        input: 'FROM base:1\nRUN echo from stdin > /s\n',
      });
      assert.match(alone.stdout, /Successfully tagged stdin:1/);
      assert.equal((await s.ok(['run', '--rm', 'stdin:1', 'cat', '/s'])).stdout, 'from stdin\n');
      const dir = context('stdin-tar', 'FROM base:1\nCOPY tree/top.txt /top\n');
      fs.writeFileSync(path.join(dir, 'other.Dockerfile'), 'FROM base:1\nCOPY tree/sub/ /sub/\n');
      sh('tar -czf ../stdin-context.tgz .', dir);
      const archive = { file: path.join(s.dir, 'stdin-context.tgz') };
      await s.ok(['build', '-t', 'stdin:2', '-'], { input: archive });
      assert.equal((await s.ok(['run', '--rm', 'stdin:2', 'cat', '/top'])).stdout, 'top\n');
      await s.ok(['build', '-t', 'stdin:3', '-f', 'other.Dockerfile', '-'], { input: archive });
      assert.equal((await s.ok(['run', '--rm', 'stdin:3', 'cat', '/sub/deep.txt'])).stdout, 'deep\n');
      const both = await s.skiff(['build', '-f', '-', '-'], { input: '' });
      assert.match(oneLineError(both.stderr), /stdin cannot be both the context and the Dockerfile/);
    });

    it('COPY --link: its layer is reused as it is when only the parent changed', async () => {
      const dir = context('link', 'FROM base:1\nARG V=1\nRUN echo $V > /v\nCOPY --link tree /data/\n');
      const layers = async (image: string) =>
        (JSON.parse((await s.ok(['inspect', image])).stdout) as { RootFS: { Layers: string[] } }[])[0]!.RootFS
          .Layers;
      await s.ok(['build', '-t', 'link:1', dir]);
      const r = await s.ok(['build', '--explain-cache', '--build-arg', 'V=2', '-t', 'link:2', dir]);
      assert.match(
        r.stdout,
        /COPY --link tree \/data\/\n ---> Cache miss: the parent image \w+ is new; its --link layer is reused\n/,
      );
      const [one, two] = [await layers('link:1'), await layers('link:2')];
      assert.notEqual(one.at(-2), two.at(-2), 'the RUN layers differ');
      assert.equal(one.at(-1), two.at(-1), 'the COPY --link layer is the same');
      const files = await s.ok([
        'run',
        '--rm',
        'link:2',
        'sh',
        '-c',
        'cat /v /data/top.txt /data/sub/deep.txt',
      ]);
      assert.equal(files.stdout, '2\ntop\ndeep\n');
    });

    it('after every bad input above, the store is whole: system check finds nothing wrong, tmp/ holds nothing', async () => {
      assert.deepEqual((await s.check()).problems, []);
      assert.deepEqual(fs.readdirSync(path.join(s.root, 'tmp')), []);
    });

    it('--explain-cache names the files that changed, were added or removed', async () => {
      const dir = context('explain', 'FROM base:1\nCOPY tree /tree\n');
      await s.ok(['build', dir]);
      fs.writeFileSync(path.join(dir, 'tree', 'top.txt'), 'top 2\n');
      fs.writeFileSync(path.join(dir, 'tree', 'new.txt'), 'new\n');
      fs.rmSync(path.join(dir, 'tree', 'sub', 'deep.txt'));
      const r = await s.ok(['build', '--explain-cache', dir]);
      assert.match(
        r.stdout,
        /Step 2\/2 : COPY tree \/tree\n ---> Cache miss: tree\/new\.txt added, tree\/sub\/deep\.txt removed, tree\/top\.txt changed\n/,
      );
    });
  },
);
