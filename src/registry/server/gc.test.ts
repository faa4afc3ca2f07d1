/** Online gc and concurrent pushes, against a real server on the same root. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { digestOf } from '../../oci/digest.js';
import { collectGarbage } from './gc.js';
import { pushBlob, pushImage, raw, startRegistry, type TestRegistry } from './testing.js';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
});
after(() => reg.close());

const blobFile = (digest: string) => path.join(reg.root, 'blobs', ...digest.split(':'));
const age = (file: string, ms: number) => {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(file, t, t);
};

test('50 concurrent pushes of the same blob store it once, intact', async () => {
  const data = randomBytes(3 << 20);
  const digest = digestOf(data);
  const results = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      if (i % 2 === 0) return pushBlob(reg.url, `many/r${i % 5}`, data);
      const start = await raw(reg.url, 'POST', `/v2/many/r${i % 5}/blobs/uploads/`);
      await raw(reg.url, 'PATCH', start.headers.location!, { body: data });
      const put = await raw(reg.url, 'PUT', `${start.headers.location!}?digest=${digest}`);
      assert.equal(put.status, 201, put.body.toString());
      return digest;
    }),
  );
  assert.ok(results.every((d) => d === digest));
  assert.ok(fs.readFileSync(blobFile(digest)).equals(data));
  assert.deepEqual(fs.readdirSync(path.join(reg.root, 'uploads')), []);
  assert.deepEqual(fs.readdirSync(path.join(reg.root, 'tmp')), []);
});

test('gc removes old unreferenced blobs and stale sessions, keeps referenced and recent ones', async () => {
  const image = await pushImage(reg.url, 'gc/app', 'v1');
  const orphan = await pushBlob(reg.url, 'gc/app', randomBytes(1000));
  const fresh = await pushBlob(reg.url, 'gc/app', randomBytes(1000));
  const stale = await raw(reg.url, 'POST', '/v2/gc/app/blobs/uploads/');
  const staleDir = path.join(reg.root, 'uploads', stale.headers['docker-upload-uuid'] as string);
  for (const d of [image.config, image.layer, image.digest, orphan]) age(blobFile(d), 2 * 3_600_000);
  age(path.join(staleDir, 'data'), 2 * 3_600_000);
  const strayTag = path.join(reg.root, 'repositories/gc/app/_tags/.tmp-1-crashed');
  const strayIngest = path.join(reg.root, 'tmp/upload-1-crashed');
  for (const f of [strayTag, strayIngest]) {
    fs.writeFileSync(f, 'partial');
    age(f, 2 * 3_600_000);
  }

  const dry = await collectGarbage(reg.root, { dryRun: true });
  assert.ok(dry.deletedBlobs.includes(orphan));
  assert.ok(fs.existsSync(blobFile(orphan)));

  const report = await collectGarbage(reg.root);
  assert.ok(report.deletedBlobs.includes(orphan));
  assert.ok(!fs.existsSync(blobFile(orphan)));
  for (const d of [image.config, image.layer, image.digest, fresh]) assert.ok(fs.existsSync(blobFile(d)), d);
  assert.ok(!fs.existsSync(staleDir));
  assert.ok(!fs.existsSync(strayTag) && !fs.existsSync(strayIngest));
  assert.equal(report.removedTemp, 2);
  assert.equal((await raw(reg.url, 'HEAD', `/v2/gc/app/blobs/${orphan}`)).status, 404);
  assert.equal((await raw(reg.url, 'GET', '/v2/gc/app/manifests/v1')).status, 200);
  // The repository's dead link went with the blob.
  assert.ok(!fs.existsSync(path.join(reg.root, 'repositories/gc/app/_blobs', ...orphan.split(':'))));
});

test('a deleted manifest lets gc take its blobs', async () => {
  const image = await pushImage(reg.url, 'gc/gone', 'v1');
  assert.equal((await raw(reg.url, 'DELETE', `/v2/gc/gone/manifests/${image.digest}`)).status, 202);
  for (const d of [image.config, image.layer, image.digest]) age(blobFile(d), 2 * 3_600_000);
  const report = await collectGarbage(reg.root);
  for (const d of [image.layer, image.digest]) assert.ok(report.deletedBlobs.includes(d), d);
});

test('gc running during pushes never deletes what they push, even with no grace', async () => {
  // Old blobs that pushes will reuse: the riskiest case, as gc sees them unreferenced and old.
  const shared = randomBytes(50_000);
  const sharedDigest = await pushBlob(reg.url, 'race/base', shared);
  age(blobFile(sharedDigest), 2 * 3_600_000);
  let pushing = true;
  const pushed: { name: string; tag: string }[] = [];
  const pushes = (async () => {
    for (let i = 0; pushing && i < 400; i++) {
      const name = `race/app${i % 4}`;
      const tag = `t${i}`;
      try {
        await pushImage(reg.url, name, tag, { layer: i % 2 === 0 ? shared : undefined });
        pushed.push({ name, tag });
      } catch (err) {
        // A push may be told its (just-swept) blob is unknown; clients upload it again. It must
        // never succeed with a blob missing, which the loop below checks.
        assert.match(String(err), /MANIFEST_BLOB_UNKNOWN/);
      }
    }
  })();
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(await collectGarbage(reg.root, { graceMs: 0 }));
  pushing = false;
  await pushes;
  assert.ok(pushed.length > 0);
  for (const { name, tag } of pushed) {
    const m = await raw(reg.url, 'GET', `/v2/${name}/manifests/${tag}`);
    assert.equal(m.status, 200);
    const manifest = m.json<{ config: { digest: string }; layers: { digest: string }[] }>();
    for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
      const head = await raw(reg.url, 'HEAD', `/v2/${name}/blobs/${d}`);
      assert.equal(head.status, 200, `${name}:${tag} lost ${d}`);
    }
  }
});

test('a second gc at the same time is refused', async () => {
  const [a, b] = await Promise.allSettled([collectGarbage(reg.root), collectGarbage(reg.root)]);
  assert.ok(a.status === 'fulfilled' || b.status === 'fulfilled');
});
