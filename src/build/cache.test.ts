import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Store } from '../store/store.js';
import { BuildCache, cacheKey, type StepKey } from './cache.js';
import { deriveImage } from './derive-image.js';

describe('build cache', () => {
  let dir: string;
  let store: Store;
  let cache: BuildCache;
  let imageId: string;
  const step: StepKey = {
    parent: 'scratch',
    instruction: 'RUN make',
    args: { V: '1', W: '2' },
    inputs: '',
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-build-cache-'));
    store = Store.open(path.join(dir, 'store'));
    cache = new BuildCache(store.meta.db);
    imageId = (
      await deriveImage(store, undefined, { createdBy: 'RUN make', created: '2026-01-01T00:00:00Z' })
    ).id;
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the key ignores the order of args and changes with every part', () => {
    assert.equal(cacheKey(step), cacheKey({ ...step, args: { W: '2', V: '1' } }));
    const variants: StepKey[] = [
      { ...step, parent: 'sha256:' + 'a'.repeat(64) },
      { ...step, instruction: 'RUN make all' },
      { ...step, args: { V: '2', W: '2' } },
      { ...step, args: { V: '1' } },
      { ...step, inputs: 'sha256:' + 'b'.repeat(64) },
    ];
    for (const v of variants) assert.notEqual(cacheKey(v), cacheKey(step), JSON.stringify(v));
  });

  test('a recorded step is found; a miss says why', () => {
    assert.equal(cache.lookup(step), undefined);
    assert.equal(cache.explainMiss(step), 'no step was cached on scratch');
    cache.record(step, imageId as `sha256:${string}`);
    assert.equal(cache.lookup(step), imageId);
    assert.equal(
      cache.explainMiss({ ...step, instruction: 'RUN make all' }),
      'the instruction changed (was `RUN make`)',
    );
    assert.equal(
      cache.explainMiss({ ...step, instruction: 'COPY . /src' }),
      'no COPY step was cached on this parent',
    );
    assert.equal(cache.explainMiss({ ...step, args: { V: '3', W: '2' } }), 'build arg V changed (1 → 3)');
    assert.equal(cache.explainMiss({ ...step, args: { V: '1' } }), 'build arg W changed (2 → unset)');
    assert.equal(cache.explainMiss({ ...step, inputs: 'x' }), 'its input files changed');
  });

  test('an entry whose image left the store is a miss', () => {
    store.meta.transaction(() => {
      for (const m of store.meta.manifestsOf(imageId as `sha256:${string}`))
        store.meta.deleteManifest(m.digest);
      store.meta.deleteImage(imageId as `sha256:${string}`);
    });
    assert.equal(cache.lookup(step), undefined);
    assert.equal(cache.explainMiss(step), 'its cached image is no longer in the store');
  });
});
