/** distribution-spec v1.1 blob endpoints (pull, push, sessions, mounts), with raw HTTP against a real server on loopback. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { digestOf } from '../../oci/digest.js';
import { MediaType } from '../../oci/media-types.js';
import { errorCode, pushBlob, raw, startRegistry, type TestRegistry, blobFiles } from './testing.js';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
});
after(() => reg.close());

describe('base and blobs', () => {
  test('GET /v2/ answers 200 with the API version header', async () => {
    const res = await raw(reg.url, 'GET', '/v2/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
  });

  test('monolithic POST ?digest= stores the blob; HEAD and GET serve it', async () => {
    const data = randomBytes(100_000);
    const digest = await pushBlob(reg.url, 'mono/app', data);
    const head = await raw(reg.url, 'HEAD', `/v2/mono/app/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(data.length));
    assert.equal(head.headers['docker-content-digest'], digest);
    const get = await raw(reg.url, 'GET', `/v2/mono/app/blobs/${digest}`);
    assert.equal(get.status, 200);
    assert.ok(get.body.equals(data));
    // Repositories do not share blobs they were never given.
    assert.equal((await raw(reg.url, 'GET', `/v2/other/app/blobs/${digest}`)).status, 404);
  });

  test('Range requests: 206 with Content-Range, suffix ranges, 416 past the end', async () => {
    const data = Buffer.from('0123456789');
    const digest = await pushBlob(reg.url, 'range/app', data);
    const part = await raw(reg.url, 'GET', `/v2/range/app/blobs/${digest}`, {
      headers: { Range: 'bytes=2-5' },
    });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], 'bytes 2-5/10');
    assert.equal(part.body.toString(), '2345');
    const suffix = await raw(reg.url, 'GET', `/v2/range/app/blobs/${digest}`, {
      headers: { Range: 'bytes=-3' },
    });
    assert.equal(suffix.body.toString(), '789');
    const open = await raw(reg.url, 'GET', `/v2/range/app/blobs/${digest}`, {
      headers: { Range: 'bytes=7-' },
    });
    assert.equal(open.body.toString(), '789');
    const bad = await raw(reg.url, 'GET', `/v2/range/app/blobs/${digest}`, {
      headers: { Range: 'bytes=10-' },
    });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers['content-range'], 'bytes */10');
  });

  test('unknown blob is 404 BLOB_UNKNOWN with a JSON error body', async () => {
    const res = await raw(reg.url, 'GET', `/v2/mono/app/blobs/${digestOf('nothing')}`);
    assert.equal(res.status, 404);
    assert.equal(errorCode(res), 'BLOB_UNKNOWN');
    const body = res.json<{ errors: { message: string; detail: unknown }[] }>();
    assert.match(body.errors[0]!.message, /read blob `sha256:/);
  });

  test('sha512 blobs and manifests', async () => {
    const data = randomBytes(5000);
    const digest = await pushBlob(reg.url, 'five/twelve', data, 'sha512');
    assert.match(digest, /^sha512:[0-9a-f]{128}$/);
    const get = await raw(reg.url, 'GET', `/v2/five/twelve/blobs/${digest}`);
    assert.ok(get.body.equals(data));
    const config = await pushBlob(reg.url, 'five/twelve', Buffer.from('{}'), 'sha512');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: config, size: 2 },
        layers: [{ mediaType: MediaType.OciLayerGzip, digest, size: data.length }],
      }),
    );
    const md = digestOf(manifest, 'sha512');
    const put = await raw(reg.url, 'PUT', `/v2/five/twelve/manifests/${md}`, {
      body: manifest,
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(put.headers['docker-content-digest'], md);
    const back = await raw(reg.url, 'GET', `/v2/five/twelve/manifests/${md}`);
    assert.ok(back.body.equals(manifest));
  });

  test('DELETE blob unlinks it from the repository', async () => {
    const digest = await pushBlob(reg.url, 'del/blob', randomBytes(10));
    assert.equal((await raw(reg.url, 'DELETE', `/v2/del/blob/blobs/${digest}`)).status, 202);
    const again = await raw(reg.url, 'GET', `/v2/del/blob/blobs/${digest}`);
    assert.equal(again.status, 404);
    assert.equal(errorCode(again), 'BLOB_UNKNOWN');
  });
});

describe('upload sessions', () => {
  test('POST, PATCH with Content-Range, 416 out of order, status, streamed PATCH, PUT with a last chunk', async () => {
    const data = randomBytes(3000);
    const start = await raw(reg.url, 'POST', '/v2/chunk/app/blobs/uploads/');
    assert.equal(start.status, 202);
    const location = start.headers.location!;
    const uuid = start.headers['docker-upload-uuid']!;
    assert.equal(location, `/v2/chunk/app/blobs/uploads/${uuid}`);
    assert.equal(start.headers.range, '0-0');

    const p1 = await raw(reg.url, 'PATCH', location, {
      body: data.subarray(0, 1000),
      headers: { 'Content-Range': '0-999', 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(p1.status, 202);
    assert.equal(p1.headers.range, '0-999');

    const wrong = await raw(reg.url, 'PATCH', location, {
      body: data.subarray(500, 1000),
      headers: { 'Content-Range': '500-999' },
    });
    assert.equal(wrong.status, 416);
    assert.equal(wrong.headers.range, '0-999');

    const status = await raw(reg.url, 'GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, '0-999');
    assert.equal(status.headers['docker-upload-uuid'], uuid);

    // docker and skopeo stream a PATCH with chunked encoding and no Content-Range.
    const streamed = await raw(reg.url, 'PATCH', location, {
      body: Readable.from([data.subarray(1000, 1500), data.subarray(1500, 2000)]),
    });
    assert.equal(streamed.status, 202);
    assert.equal(streamed.headers['transfer-encoding'], undefined);
    assert.equal(streamed.headers.range, '0-1999');

    const digest = digestOf(data);
    const put = await raw(reg.url, 'PUT', `${location}?digest=${digest}`, {
      body: data.subarray(2000),
      headers: { 'Content-Range': '2000-2999' },
    });
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(put.headers.location, `/v2/chunk/app/blobs/${digest}`);
    assert.equal(put.headers['docker-content-digest'], digest);
    assert.ok((await raw(reg.url, 'GET', `/v2/chunk/app/blobs/${digest}`)).body.equals(data));
    // The session is gone once closed.
    assert.equal((await raw(reg.url, 'GET', location)).status, 404);
  });

  test('DELETE cancels a session', async () => {
    const start = await raw(reg.url, 'POST', '/v2/cancel/app/blobs/uploads/');
    const location = start.headers.location!;
    await raw(reg.url, 'PATCH', location, { body: 'abc' });
    assert.equal((await raw(reg.url, 'DELETE', location)).status, 204);
    const status = await raw(reg.url, 'GET', location);
    assert.equal(status.status, 404);
    assert.equal(errorCode(status), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('a session belongs to its repository', async () => {
    const start = await raw(reg.url, 'POST', '/v2/owner/app/blobs/uploads/');
    const uuid = start.headers['docker-upload-uuid']!;
    assert.equal((await raw(reg.url, 'GET', `/v2/thief/app/blobs/uploads/${uuid}`)).status, 404);
    assert.equal((await raw(reg.url, 'GET', `/v2/owner/app/blobs/uploads/not-a-uuid`)).status, 404);
  });

  test('a digest mismatch is 400 DIGEST_INVALID and stores nothing', async () => {
    const before = blobFiles(reg.root);
    const data = randomBytes(2048);
    const lie = digestOf(randomBytes(8));
    const mono = await raw(reg.url, 'POST', `/v2/liar/app/blobs/uploads/?digest=${lie}`, { body: data });
    assert.equal(mono.status, 400);
    assert.equal(errorCode(mono), 'DIGEST_INVALID');
    const start = await raw(reg.url, 'POST', '/v2/liar/app/blobs/uploads/');
    const put = await raw(reg.url, 'PUT', `${start.headers.location!}?digest=${lie}`, { body: data });
    assert.equal(put.status, 400);
    assert.equal(errorCode(put), 'DIGEST_INVALID');
    assert.deepEqual(blobFiles(reg.root), before);
    assert.deepEqual(fs.readdirSync(path.join(reg.root, 'tmp')), []);
    assert.equal((await raw(reg.url, 'HEAD', `/v2/liar/app/blobs/${digestOf(data)}`)).status, 404);
  });

  test('cross-repository mount: 201 when the source has the blob, else a new session', async () => {
    const digest = await pushBlob(reg.url, 'source/app', randomBytes(64));
    const mounted = await raw(
      reg.url,
      'POST',
      `/v2/target/app/blobs/uploads/?mount=${digest}&from=source/app`,
    );
    assert.equal(mounted.status, 201);
    assert.equal(mounted.headers['docker-content-digest'], digest);
    assert.equal((await raw(reg.url, 'HEAD', `/v2/target/app/blobs/${digest}`)).status, 200);
    const missing = await raw(
      reg.url,
      'POST',
      `/v2/target/app/blobs/uploads/?mount=${digestOf('x')}&from=source/app`,
    );
    assert.equal(missing.status, 202);
    assert.ok(missing.headers['docker-upload-uuid']);
  });
});
