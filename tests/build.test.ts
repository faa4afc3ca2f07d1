/**
 * `skiff build` end to end (issue 4): a Dockerfile with most instructions, the cache (a fully
 * cached rebuild runs nothing; a changed file or build arg re-runs from its step and says
 * why), .dockerignore, stages and --target, the bad inputs of the issue, and the same
 * Dockerfiles built by `podman build` giving the same config and files.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { discardRoot } from './container-testing.js';
import { busyboxTar, makeSandbox, oneLineError, podman, type Podman, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

const DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=base:1
FROM \${BASE}
ARG V=1
ENV APP=/srv/app \\
    GREETING="hi there"
WORKDIR $APP
RUN echo "v=$V" > version && \\
    mkdir -p data
COPY src/ ./src/
RUN <<EOF
ls src > listing
EOF
EXPOSE 8080/tcp 9000-9001
LABEL org.example.team=core
USER 1000:1000
CMD ["cat", "version"]
`;

interface InspectConfig {
  Env?: string[];
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
}

describe('skiff build', { skip: needs('root', 'crun', 'conmon', 'ip', 'nft') }, () => {
  let s: Sandbox;
  let ctx: string;

  before(async () => {
    s = makeSandbox('skiff-build-');
    await s.ok(['import', busyboxTar(), 'base:1', '-c', 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin']);
    ctx = path.join(s.dir, 'ctx');
    fs.mkdirSync(path.join(ctx, 'src'), { recursive: true });
    fs.writeFileSync(path.join(ctx, 'src', 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(ctx, 'src', 'debug.log'), 'noise\n');
    fs.writeFileSync(path.join(ctx, '.dockerignore'), '**/*.log\n');
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), DOCKERFILE);
  });
  after(() => discardRoot(s));

  function config(image: string): Promise<InspectConfig> {
    return s.ok(['inspect', image]).then((r) => {
      const parsed = JSON.parse(r.stdout) as { Config: InspectConfig }[];
      return parsed[0]!.Config;
    });
  }

  it('builds: files, env, workdir, user, ports, labels and cmd as written', async () => {
    const r = await s.ok(['build', '-t', 'app:1', ctx]);
    assert.match(r.stdout, /^Step 1\/10 : FROM \$\{BASE\}\n/);
    assert.match(r.stdout, /Successfully tagged app:1\n$/);
    assert.equal((await s.ok(['run', '--rm', 'app:1'])).stdout, 'v=1\n');
    const inside = await s.ok([
      'run',
      '--rm',
      'app:1',
      'sh',
      '-c',
      'pwd; id -u; ls src; cat listing; echo $GREETING',
    ]);
    assert.equal(inside.stdout, '/srv/app\n1000\na.txt\na.txt\nhi there\n');
    const c = await config('app:1');
    assert.equal(c.WorkingDir, '/srv/app');
    assert.equal(c.User, '1000:1000');
    assert.deepEqual(c.Cmd, ['cat', 'version']);
    assert.deepEqual(Object.keys(c.ExposedPorts ?? {}).sort(), ['8080/tcp', '9000/tcp', '9001/tcp']);
    assert.deepEqual(c.Labels, { 'org.example.team': 'core' });
    assert.ok(c.Env?.includes('GREETING=hi there'), String(c.Env));
  });

  it('a fully cached rebuild runs nothing; a changed file or arg re-runs from its step and says why', async () => {
    const first = (await s.ok(['build', '-q', ctx])).stdout.trim();
    const again = await s.ok(['build', '-t', 'app:1', '--explain-cache', ctx]);
    assert.equal((again.stdout.match(/Using cache/g) ?? []).length, 9);
    assert.doesNotMatch(again.stdout, /Cache miss/);
    fs.writeFileSync(path.join(ctx, 'src', 'a.txt'), 'alpha 2\n');
    const changed = await s.ok(['build', '--explain-cache', ctx]);
    assert.match(
      changed.stdout,
      /Step 5\/10 : COPY src\/ \.\/src\/\n ---> Cache miss: src\/a\.txt changed\n/,
    );
    assert.equal((changed.stdout.match(/Using cache/g) ?? []).length, 3);
    const arg = await s.ok(['build', '--explain-cache', '--build-arg', 'V=2', ctx]);
    assert.match(arg.stdout, /Step 4\/10 : RUN .*\n ---> Cache miss: build arg V changed \(1 → 2\)\n/);
    const none = await s.ok(['build', '--no-cache', '-q', ctx]);
    assert.notEqual(none.stdout.trim(), first);
  });

  it('a COPY after a changed step reuses its layer when the new parent answers its paths alike', async () => {
    const dir = path.join(s.dir, 'rebase');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'small.txt'), 'one\n');
    fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(4 << 20, 7));
    fs.writeFileSync(
      path.join(dir, 'Dockerfile'),
      'FROM base:1\nARG MODE=755\nRUN mkdir -p /app && chmod $MODE /app\nCOPY small.txt /app/\nCOPY big.bin /app/data/\n',
    );
    const layers = async (image: string): Promise<string[]> =>
      (JSON.parse((await s.ok(['inspect', image])).stdout) as { RootFS: { Layers: string[] } }[])[0]!.RootFS
        .Layers;
    await s.ok(['build', '-t', 'rebase:1', dir]);
    fs.writeFileSync(path.join(dir, 'small.txt'), 'two\n');
    const changed = await s.ok(['build', '-t', 'rebase:2', '--explain-cache', dir]);
    assert.match(changed.stdout, /COPY small\.txt \/app\/\n ---> Cache miss: small\.txt changed\n/);
    assert.match(
      changed.stdout,
      /COPY big\.bin \/app\/data\/\n ---> Cache miss: the parent image \w+ is new; the layer it made over another parent is reused/,
    );
    const [one, two] = [await layers('rebase:1'), await layers('rebase:2')];
    assert.notEqual(one.at(-2), two.at(-2), 'small.txt made a new layer');
    assert.equal(one.at(-1), two.at(-1), 'big.bin’s layer is the same one');
    assert.equal(
      (await s.ok(['run', '--rm', 'rebase:2', 'sh', '-c', 'cat /app/small.txt; wc -c < /app/data/big.bin']))
        .stdout,
      'two\n4194304\n',
    );
    // /app with another mode: the COPY's layer holds /app's mode, so it must be made anew.
    const mode = await s.ok(['build', '-t', 'rebase:3', '--build-arg', 'MODE=700', '--explain-cache', dir]);
    assert.doesNotMatch(mode.stdout, /reused/);
    const three = await layers('rebase:3');
    assert.notEqual(three.at(-1), two.at(-1));
    assert.equal((await s.ok(['run', '--rm', 'rebase:3', 'stat', '-c', '%a', '/app'])).stdout, '700\n');
  });

  it('stages: --target builds only what the target needs; FROM a stage', async () => {
    const dir = path.join(s.dir, 'stages');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'Dockerfile'),
      [
        'FROM base:1 AS broken',
        'RUN exit 9',
        'FROM base:1 AS build',
        'RUN echo built > /artifact',
        'FROM build AS prod',
        'CMD ["cat", "/artifact"]',
        'FROM base:1 AS slim',
        'COPY --from=build /artifact /from-stage',
        'COPY --from=base:1 /bin/busybox /copied/busybox',
        'CMD ["cat", "/from-stage"]',
        '',
      ].join('\n'),
    );
    const r = await s.ok(['build', '--target', 'prod', '-t', 'staged:1', dir]);
    assert.doesNotMatch(r.stdout, /exit 9/);
    assert.equal((await s.ok(['run', '--rm', 'staged:1'])).stdout, 'built\n');
    // Without --target the last stage is the target: it copies from `build`, not from `broken`.
    const slim = await s.ok(['build', '-t', 'slim:1', dir]);
    assert.doesNotMatch(slim.stdout, /exit 9/);
    assert.equal((await s.ok(['run', '--rm', 'slim:1'])).stdout, 'built\n');
    assert.equal((await s.ok(['run', '--rm', 'slim:1', '/copied/busybox', 'true'])).code, 0);
    assert.match(
      (await s.ok(['build', dir])).stdout,
      /COPY --from=build \/artifact \/from-stage\n ---> Using cache/,
    );
    assert.deepEqual(
      fs.readdirSync(path.join(s.root, 'tmp')).filter((n) => n.startsWith('copy-from-')),
      [],
      'the mounts of --from are gone',
    );
    const broken = await s.skiff(['build', '--target', 'broken', dir]);
    assert.equal(broken.code, 1);
    assert.match(oneLineError(broken.stderr), /Dockerfile:2: `\/bin\/sh -c exit 9` exited with status 9/);
  });

  it('RUN --mount: a cache kept across builds, a read-only bind of the context, a tmpfs; none in the layer', async () => {
    const dir = path.join(s.dir, 'mounts');
    fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'alpha\n');
    fs.writeFileSync(
      path.join(dir, 'Dockerfile'),
      [
        'FROM base:1',
        "RUN --mount=type=cache,target=/cache sh -c 'echo x >> /cache/count; wc -l < /cache/count > /seen'",
        'RUN --mount=type=bind,source=src,target=/mnt cat /mnt/a.txt > /from-bind',
        "RUN --mount=type=tmpfs,target=/scratch sh -c 'echo t > /scratch/t; ls /scratch > /listing'",
        '',
      ].join('\n'),
    );
    await s.ok(['build', '-t', 'mounts:1', dir]);
    // The mount points the runtime made are stubs, not the command's doing: not in the layer.
    const probe = 'cat /seen /from-bind /listing; ls -d /cache /mnt /scratch 2>/dev/null | wc -w';
    assert.equal(
      (await s.ok(['run', '--rm', 'mounts:1', 'sh', '-c', probe])).stdout.replace(/ +/g, ''),
      '1\nalpha\nt\n0\n',
    );
    await s.ok(['build', '--no-cache', '-t', 'mounts:2', dir]);
    assert.equal(
      (await s.ok(['run', '--rm', 'mounts:2', 'cat', '/seen'])).stdout.trim(),
      '2',
      'the cache dir outlived the first build',
    );
    fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'beta\n');
    const changed = await s.ok(['build', '--explain-cache', '-t', 'mounts:3', dir]);
    assert.match(
      changed.stdout,
      /Step 3\/4 : RUN --mount=type=bind.*\n ---> Cache miss: its input files changed\n/,
    );
    assert.equal((await s.ok(['run', '--rm', 'mounts:3', 'cat', '/from-bind'])).stdout, 'beta\n');
  });

  it('bad input: one line naming the Dockerfile line, nothing tagged, nothing left running', async () => {
    const cases: { dockerfile: string; error: RegExp }[] = [
      { dockerfile: 'FROM base:1\nRUNN echo\n', error: /^Error: Dockerfile:2: unknown instruction `RUNN`/ },
      {
        dockerfile: 'FROM base:1\nRUN <<EOF\necho\n',
        error: /^Error: Dockerfile:2: unterminated heredoc `EOF`/,
      },
      { dockerfile: 'FROM nosuch:9\n', error: /^Error: Dockerfile:1: FROM `nosuch:9`: no such image/ },
      { dockerfile: 'FROM base:1\nCOPY missing.txt /x\n', error: /missing\.txt/ },
      {
        dockerfile: 'FROM base:1\nCOPY ../outside /x\n',
        error: /`\.\.\/outside`: source is outside the build context/,
      },
      {
        dockerfile: 'FROM base:1\nCOPY <<EOF /x\nbad ${}\nEOF\n',
        error: /^Error: Dockerfile:2: here-document `EOF`: bad substitution$/,
      },
      {
        dockerfile: 'FROM base:1\nRUN --security=insecure true\n',
        error: /^Error: Dockerfile:2: RUN --security=insecure is not supported/,
      },
      {
        dockerfile: 'FROM base:1\nRUN echo before; exit 3\n',
        error: /^Error: Dockerfile:2: `\/bin\/sh -c echo before; exit 3` exited with status 3/,
      },
    ];
    for (const [n, c] of cases.entries()) {
      const dir = path.join(s.dir, `bad-${n}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'Dockerfile'), c.dockerfile);
      const r = await s.skiff(['build', '-t', `bad:${n}`, dir]);
      assert.equal(r.code, 1, c.dockerfile);
      assert.match(oneLineError(r.stderr), c.error);
      assert.equal((await s.skiff(['inspect', `bad:${n}`])).code, 1, 'nothing tagged');
    }
    const failing = await s.skiff(['build', path.join(s.dir, `bad-${cases.length - 1}`)]);
    assert.match(failing.stdout, /before\n/, "the failing RUN's output is shown");
    assert.deepEqual(JSON.parse((await s.ok(['ps', '-a', '--format', 'json'])).stdout), []);
    assert.deepEqual((await s.check()).problems, []);
  });

  describe('against podman build', { skip: needs('podman') }, () => {
    let p: Podman;
    const table: { name: string; dockerfile: string; probe: string }[] = [
      {
        name: 'env, workdir, user, cmd',
        dockerfile:
          'FROM base:1\nENV A=1 B="two words"\nWORKDIR /w/x\nUSER 1000\nCMD ["sh","-c","echo $A $B; pwd; id -u"]\n',
        probe: '',
      },
      {
        name: 'entrypoint resets an inherited cmd; shell form',
        dockerfile: 'FROM base:1\nCMD ["echo","from base"]\nENTRYPOINT echo entry\n',
        probe: '',
      },
      {
        name: 'copy with chown and chmod, files and a directory',
        dockerfile:
          'FROM base:1\nCOPY --chown=12:34 --chmod=640 src /data/\nRUN ls -ln /data | sed 1d | cut -c1-10,14-\n',
        probe: 'stat -c "%n %a %u:%g" /data /data/a.txt',
      },
      {
        name: 'expose, label, volume, stopsignal, args',
        dockerfile:
          'FROM base:1\nARG PORT=8080\nEXPOSE ${PORT}/tcp 53/udp\nLABEL a=b c="d e"\nVOLUME /vol\nSTOPSIGNAL SIGINT\nRUN mkdir -p /made/by/run && echo $PORT > /made/port\n',
        probe: 'cat /made/port; ls -d /made/by/run',
      },
    ];

    before(async () => {
      p = podman(path.join(s.dir, 'podman'));
      await p.ok(['import', '--change', 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin', busyboxTar(), 'base:1']);
    });
    after(() => p.cleanup());

    for (const [n, c] of table.entries()) {
      it(c.name, async () => {
        const dir = path.join(s.dir, `pm-${n}`);
        fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'alpha\n');
        fs.writeFileSync(path.join(dir, 'Dockerfile'), c.dockerfile);
        await s.ok(['build', '-t', `cmp:${n}`, dir]);
        await p.ok(['build', '--network', 'none', '-t', `cmp:${n}`, dir]);
        const ours = await config(`cmp:${n}`);
        const theirs = (
          JSON.parse((await p.ok(['inspect', `cmp:${n}`])).stdout) as { Config: InspectConfig }[]
        )[0]!.Config;
        const pick = (x: InspectConfig & { Volumes?: object; StopSignal?: string }) => ({
          Env: x.Env ?? [],
          Cmd: x.Cmd ?? null,
          Entrypoint: x.Entrypoint ?? null,
          WorkingDir: x.WorkingDir ?? '',
          User: x.User ?? '',
          ExposedPorts: Object.keys(x.ExposedPorts ?? {}).sort(),
          Labels: Object.fromEntries(
            Object.entries(x.Labels ?? {}).filter(([k]) => !k.startsWith('io.buildah')),
          ),
          Volumes: Object.keys(x.Volumes ?? {}).sort(),
          StopSignal: x.StopSignal ?? '',
        });
        assert.deepEqual(pick(ours), pick(theirs));
        const run = (tool: Sandbox | Podman, args: string[]) =>
          'root' in tool
            ? tool.ok(['run', '--rm', ...args])
            : tool.ok(['run', '--rm', '--network', 'none', ...args]);
        const probe = c.probe === '' ? [] : ['sh', '-c', c.probe];
        const a = await run(s, [`cmp:${n}`, ...probe]);
        const b = await run(p, [`cmp:${n}`, ...probe]);
        assert.equal(a.stdout, b.stdout);
      });
    }
  });
});
