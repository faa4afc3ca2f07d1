/** distribution-spec v1.1 manifests, discovery, referrers and bad input, with raw HTTP against a real server on loopback. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf } from '../../oci/digest.js';
import { MediaType } from '../../oci/media-types.js';
import {
  errorCode,
  pushBlob,
  pushImage,
  raw,
  startRegistry,
  type TestRegistry,
  blobFiles,
} from './testing.js';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
});
after(() => reg.close());

describe('manifests', () => {
  test('PUT by tag; GET and HEAD by tag and digest give the exact bytes and type', async () => {
    const image = await pushImage(reg.url, 'team/app', 'v1');
    for (const ref of ['v1', image.digest]) {
      const get = await raw(reg.url, 'GET', `/v2/team/app/manifests/${ref}`);
      assert.equal(get.status, 200);
      assert.equal(get.headers['content-type'], MediaType.OciManifest);
      assert.equal(get.headers['docker-content-digest'], image.digest);
      assert.ok(get.body.equals(image.bytes));
      const head = await raw(reg.url, 'HEAD', `/v2/team/app/manifests/${ref}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(image.bytes.length));
    }
  });

  test('Docker schema 2 manifests and manifest lists are accepted', async () => {
    const image = await pushImage(reg.url, 'docker/app', 'base');
    const config = await pushBlob(reg.url, 'docker/app', Buffer.from('{"os":"linux"}'));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.DockerManifest,
        config: { mediaType: MediaType.DockerConfig, digest: config, size: 14 },
        layers: [{ mediaType: MediaType.DockerLayerGzip, digest: image.layer, size: 0 }],
      }),
    );
    const put = await raw(reg.url, 'PUT', '/v2/docker/app/manifests/d1', {
      body: manifest,
      headers: { 'Content-Type': MediaType.DockerManifest },
    });
    assert.equal(put.status, 201, put.body.toString());
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.DockerManifestList,
        manifests: [
          {
            mediaType: MediaType.DockerManifest,
            digest: digestOf(manifest),
            size: manifest.length,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    const putList = await raw(reg.url, 'PUT', '/v2/docker/app/manifests/multi', {
      body: list,
      headers: { 'Content-Type': MediaType.DockerManifestList },
    });
    assert.equal(putList.status, 201, putList.body.toString());
    const got = await raw(reg.url, 'GET', '/v2/docker/app/manifests/multi');
    assert.equal(got.headers['content-type'], MediaType.DockerManifestList);
  });

  test('an index whose child manifest is missing is MANIFEST_BLOB_UNKNOWN', async () => {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [{ mediaType: MediaType.OciManifest, digest: digestOf('absent'), size: 6 }],
      }),
    );
    const res = await raw(reg.url, 'PUT', '/v2/team/app/manifests/idx', {
      body: index,
      headers: { 'Content-Type': MediaType.OciIndex },
    });
    assert.equal(res.status, 400);
    assert.equal(errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
  });

  test('a manifest with a missing blob is MANIFEST_BLOB_UNKNOWN and is not stored', async () => {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: digestOf('no config'), size: 9 },
        layers: [],
      }),
    );
    const res = await raw(reg.url, 'PUT', '/v2/team/app/manifests/broken', {
      body: manifest,
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    assert.equal(res.status, 400);
    assert.equal(errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
    assert.equal((await raw(reg.url, 'GET', '/v2/team/app/manifests/broken')).status, 404);
    assert.ok(!blobFiles(reg.root).includes(digestOf(manifest)));
  });

  test('malformed, oversized and mismatched manifests are refused', async () => {
    const bad = await raw(reg.url, 'PUT', '/v2/team/app/manifests/bad', {
      body: '{"schemaVersion": 2, "config": ',
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad), 'MANIFEST_INVALID');
    const schema1 = await raw(reg.url, 'PUT', '/v2/team/app/manifests/old', {
      body: '{"schemaVersion": 1}',
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(errorCode(schema1), 'MANIFEST_INVALID');
    const huge = await raw(reg.url, 'PUT', '/v2/team/app/manifests/huge', {
      body: Buffer.alloc(4 * 1024 * 1024 + 1, 0x20),
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    assert.equal(huge.status, 413);
    assert.equal(errorCode(huge), 'MANIFEST_INVALID');
    const image = await pushImage(reg.url, 'team/app', 'mismatch-base');
    const wrong = await raw(reg.url, 'PUT', `/v2/team/app/manifests/${digestOf('other')}`, {
      body: image.bytes,
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    assert.equal(wrong.status, 400);
    assert.equal(errorCode(wrong), 'DIGEST_INVALID');
  });

  test('unknown manifests are 404 MANIFEST_UNKNOWN', async () => {
    const res = await raw(reg.url, 'GET', '/v2/team/app/manifests/nope');
    assert.equal(res.status, 404);
    assert.equal(errorCode(res), 'MANIFEST_UNKNOWN');
  });

  test('DELETE by tag removes the tag; by digest removes the manifest and its tags', async () => {
    const image = await pushImage(reg.url, 'del/app', 'one');
    const again = await raw(reg.url, 'PUT', '/v2/del/app/manifests/two', {
      body: image.bytes,
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    assert.equal(again.status, 201);
    assert.equal((await raw(reg.url, 'DELETE', '/v2/del/app/manifests/one')).status, 202);
    assert.equal((await raw(reg.url, 'GET', '/v2/del/app/manifests/one')).status, 404);
    assert.equal((await raw(reg.url, 'GET', '/v2/del/app/manifests/two')).status, 200);
    assert.equal((await raw(reg.url, 'DELETE', `/v2/del/app/manifests/${image.digest}`)).status, 202);
    assert.equal((await raw(reg.url, 'GET', `/v2/del/app/manifests/${image.digest}`)).status, 404);
    assert.equal((await raw(reg.url, 'GET', '/v2/del/app/manifests/two')).status, 404);
    assert.equal((await raw(reg.url, 'DELETE', `/v2/del/app/manifests/${image.digest}`)).status, 404);
  });
});

describe('pushing with tag parameters and sha512', () => {
  /** A manifest over freshly pushed blobs, not yet pushed itself. */
  async function unpushedManifest(name: string): Promise<Buffer> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', note: Math.random() }));
    const layer = Buffer.from(`layer ${Math.random()}`);
    const configDigest = await pushBlob(reg.url, name, config);
    const layerDigest = await pushBlob(reg.url, name, layer);
    return Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length },
        layers: [{ mediaType: MediaType.OciLayerGzip, digest: layerDigest, size: layer.length }],
      }),
    );
  }
  const put = (path: string, body: Buffer) =>
    raw(reg.url, 'PUT', path, { body, headers: { 'Content-Type': MediaType.OciManifest } });

  test('PUT by digest with ?tag= tags it under each and answers one OCI-Tag per tag', async () => {
    const bytes = await unpushedManifest('qtag/app');
    const digest = digestOf(bytes);
    const res = await put(`/v2/qtag/app/manifests/${digest}?tag=v1&tag=v1.0&tag=latest`, bytes);
    assert.equal(res.status, 201, res.body.toString());
    assert.deepEqual(res.all('OCI-Tag'), ['v1', 'v1.0', 'latest']);
    assert.equal(res.headers['docker-content-digest'], digest);
    for (const tag of ['v1', 'v1.0', 'latest']) {
      const got = await raw(reg.url, 'GET', `/v2/qtag/app/manifests/${tag}`);
      assert.equal(got.status, 200, tag);
      assert.equal(got.headers['docker-content-digest'], digest, tag);
      assert.ok(got.body.equals(bytes), tag);
    }
    const list = await raw(reg.url, 'GET', '/v2/qtag/app/tags/list');
    assert.deepEqual(list.json<{ tags: string[] }>().tags, ['latest', 'v1', 'v1.0']);
  });

  test('a PUT without tag parameters answers no OCI-Tag', async () => {
    const bytes = await unpushedManifest('qtag/none');
    const res = await put(`/v2/qtag/none/manifests/${digestOf(bytes)}`, bytes);
    assert.equal(res.status, 201);
    assert.deepEqual(res.all('OCI-Tag'), []);
  });

  test('a bad tag parameter is TAG_INVALID and nothing is pushed or tagged', async () => {
    const bytes = await unpushedManifest('qtag/bad');
    const digest = digestOf(bytes);
    for (const query of ['?tag=ok&tag=.INVALID', '?tag=', `?tag=${'x'.repeat(129)}`]) {
      const res = await put(`/v2/qtag/bad/manifests/${digest}${query}`, bytes);
      assert.equal(res.status, 400, query);
      assert.equal(errorCode(res), 'TAG_INVALID', query);
    }
    assert.equal((await raw(reg.url, 'GET', `/v2/qtag/bad/manifests/${digest}`)).status, 404);
    assert.equal((await raw(reg.url, 'GET', '/v2/qtag/bad/manifests/ok')).status, 404);
  });

  test('a manifest pushed by a sha512 digest is answered with that digest, never a sha256 one', async () => {
    const bytes = await unpushedManifest('five12/app');
    const digest = digestOf(bytes, 'sha512');
    const res = await put(`/v2/five12/app/manifests/${digest}?tag=t512`, bytes);
    assert.equal(res.status, 201, res.body.toString());
    assert.equal(res.headers['docker-content-digest'], digest);
    assert.equal(res.headers['location'], `/v2/five12/app/manifests/${digest}`);
    assert.deepEqual(res.all('OCI-Tag'), ['t512']);
    for (const ref of [digest, 't512']) {
      for (const method of ['GET', 'HEAD']) {
        const got = await raw(reg.url, method, `/v2/five12/app/manifests/${ref}`);
        assert.equal(got.status, 200, `${method} ${ref}`);
        assert.equal(got.headers['docker-content-digest'], digest, `${method} ${ref}`);
        assert.equal(got.headers['etag'], `"${digest}"`, `${method} ${ref}`);
        if (method === 'GET') assert.ok(got.body.equals(bytes));
      }
    }
    // Only the digest it was pushed by names it in this repository.
    assert.equal((await raw(reg.url, 'GET', `/v2/five12/app/manifests/${digestOf(bytes)}`)).status, 404);
  });
});

describe('discovery and referrers', () => {
  test('tags/list paginates with n and last and a Link header', async () => {
    const image = await pushImage(reg.url, 'tags/app', 'a');
    for (const tag of ['b', 'c', 'd', 'e'])
      await raw(reg.url, 'PUT', `/v2/tags/app/manifests/${tag}`, {
        body: image.bytes,
        headers: { 'Content-Type': MediaType.OciManifest },
      });
    const all = await raw(reg.url, 'GET', '/v2/tags/app/tags/list');
    assert.deepEqual(all.json(), { name: 'tags/app', tags: ['a', 'b', 'c', 'd', 'e'] });
    const page = await raw(reg.url, 'GET', '/v2/tags/app/tags/list?n=2');
    assert.deepEqual(page.json<{ tags: string[] }>().tags, ['a', 'b']);
    assert.equal(page.headers.link, '</v2/tags/app/tags/list?n=2&last=b>; rel="next"');
    const next = await raw(reg.url, 'GET', '/v2/tags/app/tags/list?n=2&last=b');
    assert.deepEqual(next.json<{ tags: string[] }>().tags, ['c', 'd']);
    const end = await raw(reg.url, 'GET', '/v2/tags/app/tags/list?n=2&last=d');
    assert.deepEqual(end.json<{ tags: string[] }>().tags, ['e']);
    assert.equal(end.headers.link, undefined);
    const unknown = await raw(reg.url, 'GET', '/v2/no/such/tags/list');
    assert.equal(unknown.status, 404);
    assert.equal(errorCode(unknown), 'NAME_UNKNOWN');
  });

  test('_catalog lists repositories with n and last', async () => {
    await pushImage(reg.url, 'cat/a', 'v');
    await pushImage(reg.url, 'cat/b', 'v');
    const all = (await raw(reg.url, 'GET', '/v2/_catalog')).json<{ repositories: string[] }>().repositories;
    assert.ok(all.includes('cat/a') && all.includes('cat/b'));
    assert.deepEqual(all, [...all].sort());
    const page = await raw(reg.url, 'GET', '/v2/_catalog?n=1&last=cat/a');
    assert.deepEqual(page.json<{ repositories: string[] }>().repositories, ['cat/b']);
    assert.match(String(page.headers.link), /^<\/v2\/_catalog\?n=1&last=cat%2Fb>; rel="next"$/);
  });

  test('a manifest with a subject answers OCI-Subject and is listed by the referrers API', async () => {
    const image = await pushImage(reg.url, 'refs/app', 'v1');
    const subject = { mediaType: MediaType.OciManifest, digest: image.digest, size: image.bytes.length };
    const sig = await pushImage(reg.url, 'refs/app', 'sig', {
      subject,
      artifactType: 'application/vnd.example.sig',
    });
    const sbom = await pushImage(reg.url, 'refs/app', 'sbom', {
      subject,
      artifactType: 'application/vnd.example.sbom',
    });
    const put = await raw(reg.url, 'PUT', `/v2/refs/app/manifests/${sig.digest}`, {
      body: sig.bytes,
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    assert.equal(put.headers['oci-subject'], image.digest);
    const list = await raw(reg.url, 'GET', `/v2/refs/app/referrers/${image.digest}`);
    assert.equal(list.status, 200);
    assert.equal(list.headers['content-type'], MediaType.OciIndex);
    const index = list.json<{ manifests: { digest: string; artifactType: string }[] }>();
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [sig.digest, sbom.digest].sort());
    const filtered = await raw(
      reg.url,
      'GET',
      `/v2/refs/app/referrers/${image.digest}?artifactType=application/vnd.example.sbom`,
    );
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(
      filtered.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest),
      [sbom.digest],
    );
    const none = await raw(reg.url, 'GET', `/v2/refs/app/referrers/${digestOf('lonely')}`);
    assert.deepEqual(none.json<{ manifests: unknown[] }>().manifests, []);
    await raw(reg.url, 'DELETE', `/v2/refs/app/manifests/${sbom.digest}`);
    const after = await raw(reg.url, 'GET', `/v2/refs/app/referrers/${image.digest}`);
    assert.deepEqual(
      after.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest),
      [sig.digest],
    );
  });
});

describe('bad input', () => {
  for (const pathname of [
    '/v2/../etc/manifests/latest',
    '/v2/a/../../etc/manifests/latest',
    '/v2//abs/manifests/latest',
    '/v2/a%2Fb/manifests/latest',
    '/v2/a%2e%2e/manifests/latest',
    '/v2/Upper/manifests/latest',
    '/v2/_hidden/manifests/latest',
    '/v2/a/_manifests/manifests/latest',
  ]) {
    test(`name in ${pathname} is NAME_INVALID`, async () => {
      const res = await raw(reg.url, 'GET', pathname);
      assert.equal(res.status, 400);
      assert.equal(errorCode(res), 'NAME_INVALID');
    });
  }

  test('invalid tags are TAG_INVALID on a push; invalid digests DIGEST_INVALID', async () => {
    for (const tag of ['-lead', '.dot', '.INVALID', 'x'.repeat(129)]) {
      const res = await raw(reg.url, 'PUT', `/v2/team/app/manifests/${tag}`, { body: '{}' });
      assert.equal(res.status, 400, tag);
      assert.equal(errorCode(res), 'TAG_INVALID');
    }
    const res = await raw(reg.url, 'GET', '/v2/team/app/blobs/sha256:zz');
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    const md5 = await raw(reg.url, 'GET', '/v2/team/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e');
    assert.equal(errorCode(md5), 'DIGEST_INVALID');
  });

  // A tag that cannot be valid names no manifest: reading or deleting it is "unknown", as for
  // any tag that is not there (the distribution-spec conformance tests expect 404).
  for (const tag of ['.INVALID', '-lead', 'x'.repeat(129)]) {
    for (const method of ['GET', 'HEAD', 'DELETE']) {
      test(`${method} of manifest tag ${tag.slice(0, 12)} is 404 MANIFEST_UNKNOWN`, async () => {
        await pushImage(reg.url, 'team/app', 'exists');
        const res = await raw(reg.url, method, `/v2/team/app/manifests/${tag}`);
        assert.equal(res.status, 404);
        // A HEAD answer has no body to carry the code.
        if (method !== 'HEAD') assert.equal(errorCode(res), 'MANIFEST_UNKNOWN');
      });
    }
  }

  test('a method an endpoint lacks is 405', async () => {
    const res = await raw(reg.url, 'POST', '/v2/team/app/manifests/v1');
    assert.equal(res.status, 405);
    assert.equal(errorCode(res), 'UNSUPPORTED');
  });
});
