/**
 * The registry under stress: a server killed with SIGKILL mid-upload, and `skiff registry gc`
 * in another process while skopeo pushes.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { errorCode, imageArchive, pushBlob, raw, serveCli } from '../src/registry/server/testing.js';
import { busyboxTar, makeSandbox, run, SKIFF_BIN, skiff, waitFor, type Sandbox, runOk } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

describe('crashes and online gc', { skip: needs('root', 'skopeo') }, () => {
  let s: Sandbox;
  before(() => {
    s = makeSandbox('skiff-reg-crash-');
  });
  after(() => s?.cleanup());

  it('a server killed with SIGKILL mid-upload leaves no blob; restarted, the session resumes; gc removes an abandoned one', async () => {
    const root = path.join(s.dir, 'reg');
    const data = randomBytes(8 << 20);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    let reg = await serveCli(SKIFF_BIN, root);
    const session = await raw(reg.url, 'POST', '/v2/crash/app/blobs/uploads/');
    const location = session.headers.location!;
    const abandoned = (await raw(reg.url, 'POST', '/v2/crash/app/blobs/uploads/')).headers[
      'docker-upload-uuid'
    ] as string;
    await raw(reg.url, 'PATCH', `/v2/crash/app/blobs/uploads/${abandoned}`, { body: randomBytes(1000) });

    let sent = 0;
    const slow = new Readable({
      read() {
        if (sent >= data.length) return void this.push(null);
        const chunk = data.subarray(sent, sent + (256 << 10));
        sent += chunk.length;
        setTimeout(() => this.push(chunk), 20);
      },
    });
    const patch = raw(reg.url, 'PATCH', location, { body: slow }).catch((err: Error) => err);
    const dataFile = path.join(root, 'uploads', location.split('/').pop()!, 'data');
    await waitFor('some bytes on disk', () => (fs.statSync(dataFile).size >= 1 << 20 ? true : undefined));
    reg.child.kill('SIGKILL');
    assert.ok((await patch) instanceof Error);
    assert.ok(!fs.existsSync(path.join(root, 'blobs', 'sha256', digest.slice(7))), 'no partial blob');

    reg = await serveCli(SKIFF_BIN, root);
    try {
      const status = await raw(reg.url, 'GET', location);
      assert.equal(status.status, 204);
      const have = Number(/^0-(\d+)$/.exec(String(status.headers.range))![1]) + 1;
      assert.ok(have >= 1 << 20 && have < data.length, `resumes at ${have}`);
      const rest = await raw(reg.url, 'PATCH', location, {
        body: data.subarray(have),
        headers: { 'Content-Range': `${have}-${data.length - 1}` },
      });
      assert.equal(rest.status, 202);
      const put = await raw(reg.url, 'PUT', `${location}?digest=${digest}`);
      assert.equal(put.status, 201, put.body.toString());
      const got = await raw(reg.url, 'GET', `/v2/crash/app/blobs/${digest}`);
      assert.ok(got.body.equals(data));

      const gc = await skiff(['registry', 'gc', '--root', root, '--grace', '0', '--format', 'json']);
      assert.equal(gc.code, 0, gc.stderr);
      const report = JSON.parse(gc.stdout) as { removedUploads: number; deletedBlobs: string[] };
      assert.equal(report.removedUploads, 1);
      assert.ok(!fs.existsSync(path.join(root, 'uploads', abandoned)));
      assert.equal(
        errorCode(await raw(reg.url, 'GET', `/v2/crash/app/blobs/uploads/${abandoned}`)),
        'BLOB_UPLOAD_UNKNOWN',
      );
    } finally {
      await reg.stop();
    }
  });

  it('gc in another process while skopeo pushes never deletes a pushed blob, and removes unreferenced ones', async () => {
    const { archive } = await imageArchive((a) => s.ok(a), s.dir, busyboxTar());
    const root = path.join(s.dir, 'reg-gc');
    const reg = await serveCli(SKIFF_BIN, root);
    try {
      // Put the image's blobs in first, unreferenced and old: gc's most tempting victims.
      await runOk('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        `oci-archive:${archive}`,
        `docker://${reg.host}/seed/app:v1`,
      ]);
      const seed = JSON.parse(
        await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/seed/app:v1`]),
      ) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      const seedManifest = (await raw(reg.url, 'HEAD', '/v2/seed/app/manifests/v1')).headers[
        'docker-content-digest'
      ] as string;
      await raw(reg.url, 'DELETE', `/v2/seed/app/manifests/${seedManifest}`);
      const old = new Date(Date.now() - 2 * 3_600_000);
      for (const d of [seed.config.digest, ...seed.layers.map((l) => l.digest)])
        fs.utimesSync(path.join(root, 'blobs', 'sha256', d.slice(7)), old, old);

      let pushing = true;
      const gcs = (async () => {
        let runs = 0;
        while (pushing || runs < 2) {
          const r = await skiff(['registry', 'gc', '--root', root, '--grace', '0']);
          assert.ok(r.code === 0 || /another gc is running/.test(r.stderr), r.stderr);
          runs++;
        }
        return runs;
      })();
      const tags: string[] = [];
      try {
        for (let i = 0; i < 6; i++) {
          const r = await run(
            'skopeo',
            [
              'copy',
              '--dest-tls-verify=false',
              `oci-archive:${archive}`,
              `docker://${reg.host}/race/app${i % 2}:t${i}`,
            ],
            { env: { TMPDIR: s.dir }, timeout: 120_000 },
          );
          assert.notEqual(r.code, null, `skopeo copy hung: ${r.stderr}`);
          // With --grace 0 a push may lose the race: its blob swept before the manifest came
          // (MANIFEST_BLOB_UNKNOWN), or its session swept between PATCH and PUT
          // (BLOB_UPLOAD_UNKNOWN). It is refused then, never accepted broken.
          if (r.code === 0) tags.push(`race/app${i % 2}:t${i}`);
          else
            assert.match(
              r.stderr,
              /MANIFEST_BLOB_UNKNOWN|BLOB_UPLOAD_UNKNOWN|blob unknown|upload unknown|not in the repository|no such upload session/i,
              r.stderr,
            );
        }
      } finally {
        pushing = false;
        assert.ok((await gcs) >= 2);
      }
      assert.ok(tags.length > 0);
      for (const tag of tags) {
        const dir = path.join(s.dir, `pulled-${tag.replace(/[/:]/g, '-')}`);
        await runOk('skopeo', [
          'copy',
          '--src-tls-verify=false',
          `docker://${reg.host}/${tag}`,
          `dir:${dir}`,
        ]);
      }

      const orphan = await pushBlob(reg.url, 'gc/orphan', randomBytes(4096));
      fs.utimesSync(path.join(root, 'blobs', 'sha256', orphan.slice(7)), old, old);
      const dry = await skiff(['registry', 'gc', '--root', root, '--dry-run']);
      assert.match(dry.stdout, new RegExp(`would remove ${orphan}`));
      assert.ok(fs.existsSync(path.join(root, 'blobs', 'sha256', orphan.slice(7))));
      const gc = await skiff(['registry', 'gc', '--root', root]);
      assert.equal(gc.code, 0, gc.stderr);
      assert.match(gc.stdout, new RegExp(`removed ${orphan}`));
      assert.equal((await raw(reg.url, 'HEAD', `/v2/gc/orphan/blobs/${orphan}`)).status, 404);
    } finally {
      await reg.stop();
    }
  });
});
