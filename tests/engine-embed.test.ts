/**
 * skiff as a library: a program imports Engine (the package's one entry, through its exports
 * map), opens a store, imports an image and runs containers through it — attached with its own
 * streams, and detached with logs, wait and removal — with no CLI involved.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Engine, NotFound, SkiffError } from 'skiff';
import { busyboxTar, makeSandbox, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

describe('Engine embedded in a program', { skip: needs('root', 'crun', 'conmon', 'ip', 'nft') }, () => {
  let s: Sandbox;
  let engine: Engine;
  before(async () => {
    s = makeSandbox('skiff-embed-');
    engine = Engine.open({ root: s.root });
    await engine.import(busyboxTar(), { tag: 'embed/base:1' });
  });
  after(async () => {
    await engine.reset();
    s.cleanup();
  });

  it('runs a container attached to the program’s own streams and gets its exit status', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const [out, err] = [collect(stdout), collect(stderr)];
    const { exitCode } = await engine.run(
      { image: 'embed/base:1', command: ['sh', '-c', 'echo to-out; echo to-err >&2; exit 4'], rm: true },
      { streams: { stdout, stderr } },
    );
    assert.equal(exitCode, 4);
    assert.equal(out(), 'to-out\n');
    assert.equal(err(), 'to-err\n');
    assert.deepEqual(engine.containers({ all: true }), [], '--rm removed it');
  });

  it('runs one detached: logs, wait, remove; unknown names are NotFound', async () => {
    const { id } = await engine.run(
      { image: 'embed/base:1', name: 'embedded', command: ['sh', '-c', 'echo hello'] },
      { detach: true },
    );
    assert.equal(await engine.wait('embedded'), 0);
    const lines = [];
    for await (const line of engine.logs(id)) lines.push(line.text);
    assert.deepEqual(lines, ['hello\n']);
    assert.equal(engine.container('embedded').state, 'exited');
    await engine.removeContainer('embedded');
    assert.throws(
      () => engine.container('embedded'),
      (e: unknown) => e instanceof NotFound && e instanceof SkiffError,
    );
  });
});
