/**
 * The builder's two primitives on real parts (issue 4): a RUN step in a crun container whose
 * overlay upper dir becomes the layer (whiteouts included), and the derived image with its
 * history; a failing RUN leaves no layer and no container.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { deriveImage } from '../src/build/derive-image.js';
import { runStep } from '../src/build/run-step.js';
import { copyLayer } from '../src/build/copy-layer.js';
import { executeSteps, type BuildEvent, type Step } from '../src/build/execute.js';
import { resolveImage } from '../src/image/image.js';
import { Runtime } from '../src/runtime/runtime.js';
import { Store } from '../src/store/store.js';
import { discardRoot } from './container-testing.js';
import { busyboxTar, makeSandbox, SKIFF_BIN, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

describe('build steps', { skip: needs('root', 'crun', 'conmon', 'ip', 'nft') }, () => {
  let s: Sandbox;
  // The primitives below Engine, on the store and runtime Engine would make for this root.
  let store: Store;
  let runtime: Runtime;

  before(async () => {
    s = makeSandbox('skiff-build-steps-');
    await s.ok(['import', busyboxTar(), 'base:1', '-c', 'ENV PATH=/bin:/usr/bin']);
    store = Store.open(s.root);
    runtime = new Runtime(store, { skiffCommand: [process.execPath, '--', SKIFF_BIN, '--root', s.root] });
  });
  after(async () => {
    store.close();
    await discardRoot(s);
  });

  it('RUN: the upper dir becomes the layer, deletions as whiteouts; the image runs', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const { layer } = await runStep(store, runtime, {
      image: 'base:1',
      command: ['/bin/sh', '-c', 'echo made > /made && rm /bin/arch && echo out'],
      env: ['PATH=/bin:/usr/bin'],
      network: 'none',
      output: out,
    });
    assert.equal(Buffer.concat(chunks).toString(), 'out\n');
    const image = await deriveImage(store, 'base:1', {
      createdBy: 'RUN /bin/sh -c echo made > /made && rm /bin/arch && echo out',
      layer: layer.diffId,
      tags: ['docker.io/library/built:1'],
    });
    assert.equal(image.config.rootfs.diff_ids.length, 2);
    assert.equal(image.config.rootfs.diff_ids[1], layer.diffId);
    assert.equal((await s.ok(['run', '--rm', 'built:1', 'cat', '/made'])).stdout, 'made\n');
    const gone = await s.skiff(['run', '--rm', 'built:1', 'ls', '/bin/arch']);
    assert.notEqual(gone.code, 0, '/bin/arch was deleted by the step');
    assert.deepEqual(JSON.parse((await s.ok(['ps', '-a', '--format', 'json'])).stdout), []);
  });

  it('a config-only step is an empty_layer history entry on the same layers', async () => {
    const image = await deriveImage(store, 'built:1', {
      createdBy: '/bin/sh -c #(nop) ENV GREETING=hi',
      config: (c) => {
        c.Env = [...(c.Env ?? []), 'GREETING=hi'];
      },
      tags: ['docker.io/library/built:2'],
    });
    assert.equal(image.config.rootfs.diff_ids.length, 2);
    assert.deepEqual(image.config.history?.at(-1)?.empty_layer, true);
    assert.equal((await s.ok(['run', '--rm', 'built:2', 'sh', '-c', 'echo $GREETING'])).stdout, 'hi\n');
    const history = (await s.ok(['history', 'built:2'])).stdout;
    assert.match(history, /ENV GREETING=hi/);
  });

  it('a failing RUN: its status named, no layer kept, no container left', async () => {
    const layersBefore = store.meta.layers().length;
    await assert.rejects(
      runStep(store, runtime, {
        image: 'base:1',
        command: ['/bin/sh', '-c', 'echo partial > /partial; exit 3'],
        network: 'none',
        where: 'Dockerfile:4',
      }),
      /Dockerfile:4: `\/bin\/sh -c echo partial > \/partial; exit 3` exited with status 3/,
    );
    assert.equal(store.meta.layers().length, layersBefore);
    assert.deepEqual(JSON.parse((await s.ok(['ps', '-a', '--format', 'json'])).stdout), []);
  });

  it('COPY: files, modes, symlinks and owners land as asked, parents made as --chown says', async () => {
    const ctx = fs.mkdtempSync(path.join(s.dir, 'ctx-'));
    fs.writeFileSync(path.join(ctx, 'a.txt'), 'alpha\n', { mode: 0o640 });
    fs.mkdirSync(path.join(ctx, 'bin'));
    fs.writeFileSync(path.join(ctx, 'bin', 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
    fs.chmodSync(path.join(ctx, 'a.txt'), 0o640);
    fs.chmodSync(path.join(ctx, 'bin', 'run.sh'), 0o755);
    fs.symlinkSync('a.txt', path.join(ctx, 'link'));
    const plan = [
      { source: path.join(ctx, 'a.txt'), dest: '/srv/app/a.txt' },
      { source: path.join(ctx, 'bin'), dest: '/srv/app/bin' },
      { source: path.join(ctx, 'bin', 'run.sh'), dest: '/srv/app/bin/run.sh' },
      { source: path.join(ctx, 'link'), dest: '/srv/app/link' },
    ];
    const layer = await copyLayer(store, plan, { chown: { uid: 1000, gid: 1001 } });
    const again = await copyLayer(store, plan, { chown: { uid: 1000, gid: 1001 } });
    assert.equal(again.diffId, layer.diffId, 'the same inputs give the same layer');
    await deriveImage(store, 'base:1', {
      createdBy: 'COPY --chown=1000:1001 . /srv/app',
      layer: layer.diffId,
      tags: ['docker.io/library/copied:1'],
    });
    const listing = (
      await s.ok([
        'run',
        '--rm',
        'copied:1',
        'sh',
        '-c',
        'stat -c "%n %a %u:%g %F" /srv /srv/app /srv/app/a.txt /srv/app/bin /srv/app/bin/run.sh; readlink /srv/app/link; cat /srv/app/link; /srv/app/bin/run.sh',
      ])
    ).stdout;
    assert.equal(
      listing,
      [
        // Parents the image lacks are made with the --chown owner, as BuildKit and buildah do.
        '/srv 755 1000:1001 directory',
        '/srv/app 755 1000:1001 directory',
        '/srv/app/a.txt 640 1000:1001 regular file',
        '/srv/app/bin 755 1000:1001 directory',
        '/srv/app/bin/run.sh 755 1000:1001 regular file',
        'a.txt',
        'alpha',
        'ran',
        '',
      ].join('\n'),
    );
    const chmodded = await copyLayer(store, plan.slice(0, 1), { chmod: 0o600 });
    assert.notEqual(chmodded.diffId, layer.diffId);
  });

  it('execute: a fully cached rebuild runs nothing; a changed input re-runs from its step, and says why', async () => {
    const ctx = fs.mkdtempSync(path.join(s.dir, 'ctx-'));
    fs.writeFileSync(path.join(ctx, 'msg'), 'one\n');
    const base = resolveImage(store, 'base:1').imageId;
    const steps = (inputs: string, arg: string): Step[] => [
      {
        kind: 'run',
        text: 'RUN echo $V > /v',
        where: 'Dockerfile:2',
        command: ['/bin/sh', '-c', 'echo $V > /v'],
        env: ['PATH=/bin', `V=${arg}`],
        args: { V: arg },
        network: 'none',
      },
      {
        kind: 'copy',
        text: 'COPY msg /msg',
        where: 'Dockerfile:3',
        plan: [{ source: path.join(ctx, 'msg'), dest: '/msg' }],
        options: {},
        inputs,
      },
      {
        kind: 'config',
        text: 'CMD ["cat","/v","/msg"]',
        where: 'Dockerfile:4',
        apply: (c) => {
          c.Cmd = ['cat', '/v', '/msg'];
        },
      },
    ];
    const build = async (inputs: string, arg: string, noCache = false) => {
      const events: BuildEvent[] = [];
      const id = await executeSteps(store, runtime, base, steps(inputs, arg), {
        onEvent: (e) => events.push(e),
        noCache,
      });
      return { id: id!, events };
    };
    const first = await build('sum-1', '1');
    assert.deepEqual(
      first.events.filter((e) => e.type === 'cached'),
      [],
    );
    const second = await build('sum-1', '1');
    assert.equal(second.id, first.id, 'a fully cached rebuild gives the same image');
    assert.equal(second.events.filter((e) => e.type === 'cached').length, 3);
    assert.equal(second.events.filter((e) => e.type === 'done').length, 0, 'nothing ran');
    fs.writeFileSync(path.join(ctx, 'msg'), 'two\n');
    const third = await build('sum-2', '1');
    assert.deepEqual(
      third.events.filter((e) => e.type === 'cached').map((e) => e.index),
      [1],
    );
    assert.deepEqual(
      third.events.find((e) => e.type === 'miss'),
      { type: 'miss', index: 2, why: 'its input files changed' },
    );
    const fourth = await build('sum-2', '2');
    assert.deepEqual(
      fourth.events.find((e) => e.type === 'miss'),
      { type: 'miss', index: 1, why: 'build arg V changed (1 → 2)' },
    );
    const all = await build('sum-2', '2', true);
    assert.equal(all.events.filter((e) => e.type === 'done').length, 3);
    await s.ok(['tag', fourth.id, 'exec:1']);
    assert.equal((await s.ok(['run', '--rm', 'exec:1'])).stdout, '2\ntwo\n');
  });
});
