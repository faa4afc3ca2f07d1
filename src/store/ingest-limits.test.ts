import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { InvalidArgument } from '../util/errors.js';
import { DEFAULT_INGEST_LIMITS, IngestBudget, ingestLimits, type IngestLimits } from './ingest-limits.js';
import { settingsPath } from './settings.js';

const KiB = 1024;

async function* zeros(total: number, chunk = 16 * KiB): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += chunk) yield Buffer.alloc(Math.min(chunk, total - sent));
}

/** How many bytes pass before the guard refuses them, and with which code. */
async function drain(
  stream: AsyncIterable<Buffer>,
): Promise<{ bytes: number; code?: string; message?: string }> {
  let bytes = 0;
  try {
    for await (const chunk of stream) bytes += chunk.length;
    return { bytes };
  } catch (err) {
    assert.ok(err instanceof InvalidArgument);
    return { bytes, code: err.code, message: err.message };
  }
}

const limits = (l: Partial<IngestLimits>): IngestLimits => ({ ...DEFAULT_INGEST_LIMITS, ...l });

test('a layer is stopped at its first chunk over the layer limit', async () => {
  const budget = new IngestBudget(limits({ maxLayerSize: 100 * KiB }), 'pull `x`');
  const r = await drain(budget.guard(zeros(1024 * KiB), { name: 'sha256:aa' }));
  assert.equal(r.code, 'LAYER_TOO_LARGE');
  assert.equal(r.bytes, 96 * KiB, 'nothing past the limit reaches the unpacker');
  assert.equal(
    r.message,
    'pull `x`: layer `sha256:aa` is over 100 KiB uncompressed, the limit for one layer (--max-layer-size)',
  );
});

test('an image counts the layers it has and the layers it unpacks', async () => {
  const budget = new IngestBudget(limits({ maxImageSize: 100 * KiB }), 'load archive');
  budget.present(60 * KiB);
  assert.equal((await drain(budget.guard(zeros(30 * KiB), { name: 'a' }))).code, undefined);
  // A layer only checked (its blob, for a layer the store has) is not counted twice.
  assert.equal(
    (await drain(budget.guard(zeros(50 * KiB), { name: 'b', countInImage: false }))).code,
    undefined,
  );
  const r = await drain(budget.guard(zeros(30 * KiB), { name: 'c' }));
  assert.equal(r.code, 'IMAGE_TOO_LARGE');
  assert.match(r.message!, /^load archive: the image is over 100 KiB uncompressed/);
});

test('past the floor, a layer may expand only so far beyond its compressed size', async () => {
  const rule = limits({ expansionFloor: 64 * KiB, maxExpansion: 10 });
  const bomb = await drain(
    new IngestBudget(rule, 'import').guard(zeros(1024 * KiB), { compressed: 1 * KiB }),
  );
  assert.equal(bomb.code, 'LAYER_EXPANDS_TOO_MUCH');
  assert.equal(bomb.bytes, 64 * KiB, 'stopped as soon as it passed the floor');
  assert.match(bomb.message!, /^import: the layer expands more than 10× its 1 KiB compressed/);
  // Under the floor anything goes; past it, up to the ratio of a size known only as it is read.
  const small = await drain(new IngestBudget(rule, 'import').guard(zeros(60 * KiB), { compressed: 10 }));
  assert.equal(small.code, undefined);
  const read = () => 20 * KiB;
  const fine = await drain(new IngestBudget(rule, 'import').guard(zeros(150 * KiB), { compressed: read }));
  assert.deepEqual(fine, { bytes: 150 * KiB });
});

test('limits come from the command, then settings.json, then the defaults', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-limits-'));
  try {
    assert.deepEqual(ingestLimits(root), DEFAULT_INGEST_LIMITS);
    fs.writeFileSync(
      settingsPath(root),
      JSON.stringify({ maxLayerSize: '1GiB', maxExpansion: 50, expansionFloor: 4096 }),
    );
    assert.deepEqual(ingestLimits(root, { maxExpansion: 20, maxImageSize: undefined }), {
      ...DEFAULT_INGEST_LIMITS,
      maxLayerSize: 2 ** 30,
      maxExpansion: 20,
      expansionFloor: 4096,
    });
    fs.writeFileSync(settingsPath(root), JSON.stringify({ maxLayerSzie: '1GiB' }));
    assert.throws(() => ingestLimits(root), /settings\.json`: unknown key `maxLayerSzie` \(maxLayerSize, /);
    fs.writeFileSync(settingsPath(root), JSON.stringify({ maxImageSize: 'big' }));
    assert.throws(() => ingestLimits(root), /`maxImageSize` in .*settings\.json `big`: not a size/);
    fs.writeFileSync(settingsPath(root), '{');
    assert.throws(() => ingestLimits(root), /settings\.json`: not JSON/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
