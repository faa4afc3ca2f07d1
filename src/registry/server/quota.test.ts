/**
 * The server's own limits: the bytes of one upload and of one repository (off unless given),
 * and upload sessions that expire by themselves — also those abandoned while no server ran.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { digestOf } from '../../oci/digest.js';
import { DEFAULT_UPLOAD_TTL_MS } from './server.js';
import { blobFiles, errorCode, pushBlob, raw, startRegistry } from './testing.js';

test('an upload over --max-upload-size is refused as its bytes arrive, and its session goes', async () => {
  const reg = await startRegistry({ maxUploadBytes: 100_000 });
  try {
    const big = randomBytes(150_000);
    const mono = await raw(reg.url, 'POST', `/v2/lim/app/blobs/uploads/?digest=${digestOf(big)}`, {
      body: big,
    });
    assert.equal(mono.status, 413);
    assert.equal(errorCode(mono), 'SIZE_INVALID');
    assert.match(
      mono.json<{ errors: { message: string }[] }>().errors[0]!.message,
      /^upload blob to `lim\/app`: over 97\.7 KiB/,
    );

    // In chunks: the first fits, the second passes the limit.
    const start = await raw(reg.url, 'POST', '/v2/lim/app/blobs/uploads/');
    const location = start.headers.location!;
    assert.equal((await raw(reg.url, 'PATCH', location, { body: big.subarray(0, 60_000) })).status, 202);
    const over = await raw(reg.url, 'PATCH', location, {
      body: big.subarray(60_000),
      headers: { 'Content-Range': '60000-149999' },
    });
    assert.equal(over.status, 413);
    assert.equal(
      errorCode(await raw(reg.url, 'GET', location)),
      'BLOB_UPLOAD_UNKNOWN',
      'the session is gone',
    );

    const small = randomBytes(100_000);
    await pushBlob(reg.url, 'lim/app', small);
    assert.deepEqual(blobFiles(reg.root), [digestOf(small)]);
    assert.deepEqual(fs.readdirSync(path.join(reg.root, 'uploads')), []);
    assert.deepEqual(fs.readdirSync(path.join(reg.root, 'tmp')), []);
  } finally {
    await reg.close();
  }
});

test('a repository holds no more than --repo-quota of blobs; what it has already costs nothing', async () => {
  const reg = await startRegistry({ repoQuotaBytes: 250_000 });
  try {
    const a = randomBytes(100_000);
    const b = randomBytes(100_000);
    const c = randomBytes(100_000);
    await pushBlob(reg.url, 'quota/app', a);
    await pushBlob(reg.url, 'quota/app', b);
    await pushBlob(reg.url, 'quota/app', a);
    const refused = await raw(reg.url, 'POST', `/v2/quota/app/blobs/uploads/?digest=${digestOf(c)}`, {
      body: c,
    });
    assert.equal(refused.status, 413);
    assert.equal(errorCode(refused), 'DENIED');
    assert.match(
      refused.json<{ errors: { message: string }[] }>().errors[0]!.message,
      /^push to `quota\/app`: the repository would hold over 244\.1 KiB, its quota$/,
    );
    // Through a session, and by mounting a blob of another repository: the same.
    const start = await raw(reg.url, 'POST', '/v2/quota/app/blobs/uploads/');
    const put = await raw(reg.url, 'PUT', `${start.headers.location!}?digest=${digestOf(c)}`, { body: c });
    assert.equal(errorCode(put), 'DENIED');
    await pushBlob(reg.url, 'quota/other', c);
    const mount = await raw(
      reg.url,
      'POST',
      `/v2/quota/app/blobs/uploads/?mount=${digestOf(c)}&from=quota/other`,
    );
    assert.equal(errorCode(mount), 'DENIED');
    assert.equal((await raw(reg.url, 'HEAD', `/v2/quota/app/blobs/${digestOf(c)}`)).status, 404);
    assert.deepEqual(fs.readdirSync(path.join(reg.root, 'uploads')), []);
    assert.deepEqual(fs.readdirSync(path.join(reg.root, 'tmp')), []);
  } finally {
    await reg.close();
  }
});

test('abandoned upload sessions expire without gc, also those left while no server ran', async () => {
  assert.equal(DEFAULT_UPLOAD_TTL_MS, 24 * 3_600_000);
  const first = await startRegistry();
  const uploads = path.join(first.root, 'uploads');
  const old = await raw(first.url, 'POST', '/v2/ttl/app/blobs/uploads/');
  const recent = await raw(first.url, 'POST', '/v2/ttl/app/blobs/uploads/');
  await first.running.close();
  const age = (location: string, hours: number) => {
    const when = new Date(Date.now() - hours * 3_600_000);
    fs.utimesSync(path.join(uploads, location.split('/').pop()!, 'data'), when, when);
  };
  age(old.headers.location!, 25);
  age(recent.headers.location!, 2);
  const second = await startRegistry({ root: first.root });
  try {
    assert.equal(errorCode(await raw(second.url, 'GET', old.headers.location!)), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(
      (await raw(second.url, 'GET', recent.headers.location!)).status,
      204,
      'two hours idle is not abandoned',
    );
  } finally {
    await second.close();
    await first.close();
  }
});
