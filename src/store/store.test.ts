import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { digestOf } from '../oci/digest.js';
import { Store } from './store.js';
import { checkStore } from './check.js';
import { collectGarbage } from './gc.js';
import { openDatabase, schemaVersion } from './database.js';
import { needs } from '../util/test-requirements.js';

let root: string;
let store: Store;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-store-'));
  store = Store.open(path.join(root, 'store'));
});

afterEach(() => {
  store.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function* chunks(data: Buffer, size = 1000): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** A small tree archived by GNU tar: the layer tests' input. */
function gnuTar(): Buffer {
  const dir = path.join(root, 'tree');
  fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'etc', 'hostname'), 'box\n');
  fs.writeFileSync(path.join(dir, 'big'), Buffer.alloc(300_000, 7));
  fs.symlinkSync('etc/hostname', path.join(dir, 'link'));
  return execFileSync('tar', ['-C', dir, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 26 });
}

test('ingest stores content under its digest and refuses a mismatch', async () => {
  const data = Buffer.from('hello blob');
  const info = await store.content.ingest(chunks(data, 3));
  assert.equal(info.digest, digestOf(data));
  assert.equal(info.size, data.length);
  assert.deepEqual(store.content.readBytes(info.digest), data);

  const wrong = digestOf('something else');
  await assert.rejects(
    store.content.ingest(chunks(data), { digest: wrong }),
    /store blob `sha256:[0-9a-f]+`: content has digest/,
  );
  await assert.rejects(store.content.ingest(chunks(data), { size: 3 }), /more than the expected 3 bytes/);
  assert.equal(store.content.has(wrong), false);
  assert.deepEqual(fs.readdirSync(store.paths.tmp), [], 'no temp file left behind');
});

test('sha512 digests are accepted', async () => {
  const data = Buffer.from('five twelve');
  const digest = digestOf(data, 'sha512');
  const info = await store.content.ingest([data], { digest });
  assert.equal(info.digest, digest);
  assert.ok(fs.existsSync(path.join(store.paths.blobs, 'sha512', digest.slice(7))));
});

test('a layer unpacks once and rebuilds its exact tar', { skip: needs('root') }, async () => {
  const tar = gnuTar();
  const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
  const layer = await store.layers.unpack(chunks(tar, 777));
  assert.equal(layer.diffId, diffId);
  assert.equal(layer.size, tar.length);
  assert.equal(layer.created, true);
  assert.equal(fs.readFileSync(path.join(store.layers.diffDir(diffId), 'etc', 'hostname'), 'utf8'), 'box\n');
  const rebuilt: Buffer[] = [];
  for await (const chunk of store.layers.tar(diffId)) rebuilt.push(chunk);
  assert.ok(Buffer.concat(rebuilt).equals(tar), 'byte-identical tar');
  assert.deepEqual(await store.layers.verify(diffId), { ok: true });

  const again = await store.layers.unpack(chunks(tar));
  assert.equal(again.created, false);
  assert.deepEqual(fs.readdirSync(store.paths.tmp), []);

  fs.writeFileSync(path.join(store.layers.diffDir(diffId), 'etc', 'hostname'), 'BOX\n');
  const verdict = await store.layers.verify(diffId);
  assert.equal(verdict.ok, false);
});

test('a layer with an unexpected diff ID is not kept', { skip: needs('root') }, async () => {
  const tar = gnuTar();
  await assert.rejects(
    store.layers.unpack(chunks(tar), { expectDiffId: digestOf('other') }),
    /content has diff ID/,
  );
  assert.deepEqual([...store.layers.list()], []);
  assert.deepEqual(fs.readdirSync(store.paths.tmp), []);
});

test('check finds a damaged blob; gc removes what nothing references', { skip: needs('root') }, async () => {
  const kept = await store.content.writeBytes(Buffer.from('{"unreferenced":true}'));
  let report = await checkStore(store);
  assert.deepEqual(report.problems, []);
  assert.equal(report.garbage.unreferencedBlobs, 1);

  fs.writeFileSync(store.content.path(kept.digest), 'tampered');
  report = await checkStore(store);
  assert.equal(report.problems.length, 1);
  assert.match(report.problems[0]!, /content has digest/);

  const layer = await store.layers.unpack(chunks(gnuTar()));
  store.meta.addLayer(layer);
  fs.writeFileSync(path.join(store.paths.tmp, 'blob-leftover'), 'x');
  const result = collectGarbage(store, { dangling: true, temp: true });
  assert.deepEqual(result.blobs, [kept.digest]);
  assert.deepEqual(result.layers, [layer.diffId]);
  assert.equal(result.tempFiles, 1);
  assert.ok(result.bytesFreed > 300_000);
  assert.deepEqual([...store.layers.list()], []);
  assert.deepEqual([...store.content.list()], []);
});

test('migrations run once and the schema version is recorded', () => {
  const file = path.join(root, 'again.db');
  openDatabase(file).close();
  const db = openDatabase(file);
  assert.equal(db.pragma('user_version', { simple: true }), schemaVersion);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
});

test('database.ts’s map of the schema names the version the migrations make', () => {
  // The compiled file keeps the comment: dist/src/store/database.js beside this test.
  const text = fs.readFileSync(new URL('./database.js', import.meta.url), 'utf8');
  assert.equal(/Schema version (\d+)/.exec(text)?.[1], String(schemaVersion));
});

test('the store lock is shared among adders and exclusive for deleters', async () => {
  const a = await store.lock('shared');
  const b = await store.lock('shared');
  const controller = new AbortController();
  const waiting = store.lock('exclusive', { signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  await assert.rejects(waiting, { name: 'AbortError' });
  a.release();
  b.release();
  const c = await store.lock('exclusive');
  c.release();
});
