/**
 * A blob becomes the recorded compressed form of a layer (`layer_blobs`) only once it was
 * decompressed and hashed to the layer's diff ID. A registry or an archive may name any blob
 * beside a diff ID the store already has: the pull or load is refused with one line, nothing is
 * recorded, and a later push or save of the user's own image (which shares that layer) sends the
 * true layer. A bad mapping already in the database is damage for `system check`, and push and
 * save do not send it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { MediaType } from '../src/oci/media-types.js';
import { pushBlob, raw, startRegistry, type TestRegistry } from '../src/registry/server/testing.js';
import { needs } from '../src/util/test-requirements.js';
import {
  busyboxTar,
  oneLineError,
  sandbox,
  sha256,
  snapshotDiff,
  storeSnapshot,
  type Sandbox,
} from './helpers.js';

function tar(args: string[]): void {
  const r = spawnSync('tar', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: ${r.stderr}`);
}

/** A layer tar holding only `bin/evil`: what a hostile registry passes off as a known layer. */
function evilLayer(dir: string): Buffer {
  const tree = path.join(dir, 'evil-tree');
  fs.mkdirSync(path.join(tree, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'bin', 'evil'), '#!/bin/sh\necho owned\n', { mode: 0o755 });
  const file = path.join(dir, 'evil.tar');
  tar(['-C', tree, '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-cf', file, 'bin']);
  return fs.readFileSync(file);
}

function imageConfig(diffIds: string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
}

function manifestOf(config: Buffer, layer: { digest: string; size: number }): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: MediaType.OciLayerGzip, ...layer }],
    }),
  );
}

/** Serves `layer` (as given, gzip bytes) under `name:1` with a config that lists `diffIds`. */
async function plant(registry: TestRegistry, name: string, layer: Buffer, diffIds: string[]): Promise<void> {
  const config = imageConfig(diffIds);
  await pushBlob(registry.url, name, config);
  await pushBlob(registry.url, name, layer);
  const manifest = manifestOf(config, { digest: sha256(layer), size: layer.length });
  const res = await raw(registry.url, 'PUT', `/v2/${name}/manifests/1`, {
    body: manifest,
    headers: { 'Content-Type': MediaType.OciManifest },
  });
  assert.equal(res.status, 201, `plant ${name}: ${res.body.toString()}`);
}

/** The diff ID of the first layer of what the registry serves as `name:1` (gunzip, then sha256). */
async function servedLayer(registry: TestRegistry, name: string): Promise<{ blob: string; diffId: string }> {
  const m = await raw(registry.url, 'GET', `/v2/${name}/manifests/1`, {
    headers: { Accept: MediaType.OciManifest },
  });
  assert.equal(m.status, 200);
  const layer = m.json<{ layers: { digest: string }[] }>().layers[0]!;
  const blob = await raw(registry.url, 'GET', `/v2/${name}/blobs/${layer.digest}`);
  assert.equal(blob.status, 200);
  return { blob: layer.digest, diffId: sha256(zlib.gunzipSync(blob.body)) };
}

/** The diff ID of the first layer of an OCI archive written by `skiff save`, and its blob. */
function savedLayer(dir: string, archive: string): { blob: string; diffId: string } {
  const out = fs.mkdtempSync(path.join(dir, 'saved-'));
  tar(['-C', out, '-xf', archive]);
  const read = (digest: string): Buffer =>
    fs.readFileSync(path.join(out, 'blobs', 'sha256', digest.slice(7)));
  const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(read(index.manifests[0]!.digest).toString('utf8')) as {
    layers: { digest: string }[];
  };
  const blob = manifest.layers[0]!.digest;
  return { blob, diffId: sha256(zlib.gunzipSync(read(blob))) };
}

/** The compressed forms the store records for the first layer of `image`. */
async function recordedBlobs(s: Sandbox, image: string): Promise<string[]> {
  const [info] = JSON.parse((await s.ok(['inspect', '--type', 'image', image])).stdout) as {
    Layers: { blobs: { digest: string }[] }[];
  }[];
  return info!.Layers[0]!.blobs.map((b) => b.digest);
}

describe('a layer blob is recorded only once it is the layer', { skip: needs('root', 'tar') }, () => {
  let registry: TestRegistry;
  let tmp: string;
  let evil: Buffer;
  let evilGz: Buffer;
  let busyboxDiffId: string;

  before(async () => {
    registry = await startRegistry();
    tmp = fs.mkdtempSync(path.join(registry.root, '..', 'work-'));
    evil = evilLayer(tmp);
    evilGz = zlib.gzipSync(evil);
    busyboxDiffId = sha256(fs.readFileSync(busyboxTar()));
  });
  after(async () => {
    await registry?.close();
  });

  /** A store with the user's own image `app:1`: the busybox layer, never compressed yet. */
  async function victim(t: TestContext): Promise<Sandbox> {
    const s = sandbox(t, 'skiff-trust-');
    await s.ok(['import', busyboxTar(), 'app:1']);
    return s;
  }

  it('pull: a blob that is not its config layer is refused; push then sends the true layer', async (t) => {
    const s = await victim(t);
    await plant(registry, 'hostile/pull', evilGz, [busyboxDiffId]);
    const before = storeSnapshot(s.root);

    const pulled = await s.skiff(['pull', `${registry.url.slice(7)}/hostile/pull:1`]);
    assert.notEqual(pulled.code, 0, 'the pull must fail');
    const line = oneLineError(pulled.stderr);
    assert.ok(line.includes(`layer blob \`${sha256(evilGz)}\``), line);
    assert.ok(line.includes(`does not match diff ID \`${busyboxDiffId}\``), line);
    assert.ok(line.includes(`it decompresses to ${sha256(evil)}`), line);
    assert.deepEqual(snapshotDiff(before, storeSnapshot(s.root)), [], 'the store is as it was');
    assert.deepEqual(await recordedBlobs(s, 'app:1'), [], 'nothing recorded for the layer');

    await s.ok(['push', 'app:1', `${registry.url.slice(7)}/mine/app:1`]);
    const sent = await servedLayer(registry, 'mine/app');
    assert.notEqual(sent.blob, sha256(evilGz));
    assert.equal(sent.diffId, busyboxDiffId, 'push sent the layer the image has');
    const report = await s.check();
    assert.deepEqual(report.problems, []);
    assert.equal(report.garbage.tempFiles, 0);
  });

  it('pull: a blob the store keeps for another layer, named beside a layer it has, is refused', async (t) => {
    const s = await victim(t);
    // The store gets the busybox layer's gzip blob (by pushing) and a second layer (the evil tar).
    await s.ok(['push', 'app:1', `${registry.url.slice(7)}/mine/base:1`]);
    const kept = (await recordedBlobs(s, 'app:1'))[0]!;
    await s.ok(['import', path.join(tmp, 'evil.tar'), 'other:1']);
    const keptBytes = fs.readFileSync(path.join(s.root, 'blobs', 'sha256', kept.slice(7)));
    await plant(registry, 'hostile/swap', keptBytes, [sha256(evil)]);

    const pulled = await s.skiff(['pull', `${registry.url.slice(7)}/hostile/swap:1`]);
    assert.notEqual(pulled.code, 0, 'the pull must fail');
    const line = oneLineError(pulled.stderr);
    assert.ok(line.includes(`layer blob \`${kept}\` does not match diff ID \`${sha256(evil)}\``), line);
    assert.deepEqual(await recordedBlobs(s, 'other:1'), [], 'nothing recorded for the other layer');
    assert.deepEqual((await s.check()).problems, []);
  });

  it('load: an OCI layout whose blob is not its config layer is refused; save sends the true layer', async (t) => {
    const s = await victim(t);
    const layout = fs.mkdtempSync(path.join(tmp, 'layout-'));
    const blobs = path.join(layout, 'blobs', 'sha256');
    fs.mkdirSync(blobs, { recursive: true });
    const config = imageConfig([busyboxDiffId]);
    const manifest = manifestOf(config, { digest: sha256(evilGz), size: evilGz.length });
    for (const blob of [config, manifest, evilGz])
      fs.writeFileSync(path.join(blobs, sha256(blob).slice(7)), blob);
    fs.writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    fs.writeFileSync(
      path.join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MediaType.OciManifest,
            digest: sha256(manifest),
            size: manifest.length,
            annotations: { 'io.containerd.image.name': 'docker.io/library/hostile:1' },
          },
        ],
      }),
    );
    const archive = path.join(tmp, `hostile-${path.basename(layout)}.tar`);
    tar(['-C', layout, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
    const before = storeSnapshot(s.root);

    const loaded = await s.skiff(['load', '-i', archive]);
    assert.notEqual(loaded.code, 0, 'the load must fail');
    const line = oneLineError(loaded.stderr);
    assert.ok(
      line.includes(`layer blob \`${sha256(evilGz)}\` does not match diff ID \`${busyboxDiffId}\``),
      line,
    );
    assert.deepEqual(snapshotDiff(before, storeSnapshot(s.root)), [], 'the store is as it was');
    assert.deepEqual(await recordedBlobs(s, 'app:1'), []);

    const out = path.join(tmp, `saved-${path.basename(layout)}.tar`);
    await s.ok(['save', '-o', out, 'app:1']);
    const saved = savedLayer(tmp, out);
    assert.notEqual(saved.blob, sha256(evilGz));
    assert.equal(saved.diffId, busyboxDiffId, 'save wrote the layer the image has');
    const report = await s.check();
    assert.deepEqual(report.problems, []);
    assert.equal(report.garbage.tempFiles, 0);
  });

  it('a bad mapping in the database: system check reports it, push and save do not send it', async (t) => {
    const s = await victim(t);
    // What an older skiff recorded from a hostile pull: the blob kept, the row unverified.
    const planted = sha256(evilGz);
    fs.writeFileSync(path.join(s.root, 'blobs', 'sha256', planted.slice(7)), evilGz);
    const db = new Database(path.join(s.root, 'skiff.db'));
    try {
      db.prepare('INSERT INTO layer_blobs (digest, diff_id, media_type, size) VALUES (?, ?, ?, ?)').run(
        planted,
        busyboxDiffId,
        MediaType.OciLayerGzip,
        evilGz.length,
      );
    } finally {
      db.close();
    }

    const problems = (await s.check()).problems;
    assert.deepEqual(problems, [
      `layer blob \`${planted}\` does not match diff ID \`${busyboxDiffId}\`: it decompresses to ${sha256(evil)}`,
    ]);

    await s.ok(['push', 'app:1', `${registry.url.slice(7)}/mine/planted:1`]);
    const sent = await servedLayer(registry, 'mine/planted');
    assert.notEqual(sent.blob, planted);
    assert.equal(sent.diffId, busyboxDiffId, 'push sent the layer the image has');
    const out = path.join(tmp, 'planted-save.tar');
    await s.ok(['save', '-o', out, 'app:1']);
    const saved = savedLayer(tmp, out);
    assert.notEqual(saved.blob, planted);
    assert.equal(saved.diffId, busyboxDiffId, 'save wrote the layer the image has');

    // Take the planted row out again: the blob is then garbage, and prune leaves a clean store.
    const cleanup = new Database(path.join(s.root, 'skiff.db'));
    try {
      cleanup.prepare('DELETE FROM layer_blobs WHERE digest = ?').run(planted);
    } finally {
      cleanup.close();
    }
    await s.ok(['system', 'prune']);
    assert.equal(fs.existsSync(path.join(s.root, 'blobs', 'sha256', planted.slice(7))), false);
    assert.deepEqual((await s.check()).problems, []);
  });
});
