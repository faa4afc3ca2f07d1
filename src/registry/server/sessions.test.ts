/** Upload sessions live on disk: a new server on the same root continues them; stale ones are swept. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { digestOf } from '../../oci/digest.js';
import { errorCode, raw, startRegistry } from './testing.js';

test('a session started on one server is finished on another over the same root, sha512 included', async () => {
  const first = await startRegistry();
  const second = await startRegistry({ root: first.root });
  try {
    const data = randomBytes(300_000);
    const start = await raw(first.url, 'POST', '/v2/resume/app/blobs/uploads/');
    const location = start.headers.location!;
    await raw(first.url, 'PATCH', location, { body: data.subarray(0, 100_000) });
    const status = await raw(second.url, 'GET', location);
    assert.equal(status.headers.range, '0-99999');
    await raw(second.url, 'PATCH', location, {
      body: data.subarray(100_000),
      headers: { 'Content-Range': '100000-299999' },
    });
    const digest = digestOf(data, 'sha512');
    const put = await raw(second.url, 'PUT', `${location}?digest=${digest}`);
    assert.equal(put.status, 201, put.body.toString());
    assert.ok((await raw(first.url, 'GET', `/v2/resume/app/blobs/${digest}`)).body.equals(data));
  } finally {
    await second.close();
    await first.close();
  }
});

test('sessions idle past the timeout are swept; active ones stay', async () => {
  const reg = await startRegistry();
  try {
    const idle = await raw(reg.url, 'POST', '/v2/sweep/app/blobs/uploads/');
    const busy = await raw(reg.url, 'POST', '/v2/sweep/app/blobs/uploads/');
    const idleDir = path.join(reg.root, 'uploads', idle.headers['docker-upload-uuid'] as string);
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(path.join(idleDir, 'data'), old, old);
    assert.equal(reg.server.uploads.sweep(60_000), 1);
    assert.equal(errorCode(await raw(reg.url, 'GET', idle.headers.location!)), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal((await raw(reg.url, 'GET', busy.headers.location!)).status, 204);
  } finally {
    await reg.close();
  }
});

test('an unexpected failure after the body was read is answered 500, not left hanging', async () => {
  const reg = await startRegistry();
  try {
    const alg = path.join(reg.root, 'blobs', 'sha256');
    fs.rmSync(alg, { recursive: true });
    fs.writeFileSync(alg, 'not a directory');
    const res = await raw(reg.url, 'POST', `/v2/broken/app/blobs/uploads/?digest=${digestOf('x')}`, {
      body: 'x',
    });
    assert.equal(res.status, 500);
    assert.equal(errorCode(res), 'UNKNOWN');
  } finally {
    await reg.close();
  }
});
