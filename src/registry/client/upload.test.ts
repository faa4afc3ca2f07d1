/**
 * Blob uploads against Debian's distribution registry: monolithic, chunked, resumed after a
 * PATCH is cut midway, and mounted from another repository.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../tests/helpers.js';
import { registryRequest, startRegistry, type Registry } from '../../../tests/registry-client-testing.js';
import { digestOf } from '../../oci/digest.js';
import { Session } from './session.js';
import { Transport } from './transport.js';
import { pushBlob } from './upload.js';
import { needs } from '../../util/test-requirements.js';

const skip = needs('docker-registry');
let tmp: string;
let registry: Registry;
let transport: Transport;

before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-upload-'));
  registry = await startRegistry(path.join(tmp, 'registry'));
  transport = new Transport();
});

after(async () => {
  transport?.close();
  await registry?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function reader(data: Buffer) {
  return (start: number, end: number) =>
    (async function* () {
      for (let at = start; at < end; at += 100_000) yield data.subarray(at, Math.min(at + 100_000, end));
    })();
}

async function served(host: string, repository: string, digest: string): Promise<Buffer> {
  const res = await registryRequest(host, 'GET', `/v2/${repository}/blobs/${digest}`);
  assert.equal(res.status, 200);
  return res.body;
}

test(
  'monolithic and chunked uploads land byte for byte; a second push finds the blob',
  { skip },
  async () => {
    const session = new Session(registry.host, { transport, retryDelay: 10 });
    const small = randomBytes(50_000);
    const big = randomBytes(1_000_000);
    const smallBlob = { digest: digestOf(small), size: small.length };
    const bigBlob = { digest: digestOf(big), size: big.length };
    assert.deepEqual(await pushBlob(session, 'u/one', smallBlob, { read: reader(small) }), {
      how: 'uploaded',
      bytes: small.length,
    });
    const seen: number[] = [];
    const outcome = await pushBlob(session, 'u/one', bigBlob, {
      read: reader(big),
      chunkSize: 300_000,
      onBytes: (n) => seen.push(n),
    });
    assert.deepEqual(outcome, { how: 'uploaded', bytes: big.length });
    assert.equal(seen.at(-1), big.length);
    assert.ok((await served(registry.host, 'u/one', bigBlob.digest)).equals(big));
    assert.deepEqual(await pushBlob(session, 'u/one', bigBlob, { read: reader(big) }), { how: 'exists' });
    // Another repository of the same registry: mounted, not sent again.
    assert.deepEqual(await pushBlob(session, 'u/two', bigBlob, { read: reader(big), mountFrom: ['u/one'] }), {
      how: 'mounted',
      from: 'u/one',
    });
    assert.ok((await served(registry.host, 'u/two', bigBlob.digest)).equals(big));
  },
);

test(
  'a chunk cut midway: the upload status is asked, then it resumes or begins again',
  { skip },
  async () => {
    // A proxy that forwards the second PATCH only in part, then hangs up on both sides.
    let patches = 0;
    let cut = false;
    const statusRanges: string[] = [];
    const [upHost, upPort] = registry.host.split(':') as [string, string];
    const server = http.createServer((req, res) => {
      const cutThis = req.method === 'PATCH' && ++patches === 2;
      const up = http.request(
        { host: upHost, port: Number(upPort), path: req.url, method: req.method, headers: req.headers },
        (upRes) => {
          if (req.method === 'GET' && req.url?.includes('/blobs/uploads/'))
            statusRanges.push(`${upRes.statusCode} ${String(upRes.headers.range)}`);
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      if (!cutThis) {
        req.pipe(up);
        return;
      }
      cut = true;
      let sent = 0;
      req.on('data', (chunk: Buffer) => {
        if (sent >= 150_000) return;
        up.write(chunk.subarray(0, 150_000 - sent));
        sent += chunk.length;
        if (sent >= 150_000) {
          setTimeout(() => {
            up.destroy();
            req.socket.destroy();
          }, 200);
        }
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const session = new Session(`127.0.0.1:${port}`, { transport, retryDelay: 10 });
      const data = randomBytes(1_000_000);
      const blob = { digest: digestOf(data), size: data.length };
      const outcome = await pushBlob(session, 'u/resume', blob, { read: reader(data), chunkSize: 300_000 });
      assert.ok(cut, 'the proxy cut a chunk');
      assert.equal(statusRanges.length, 1, 'the upload status was asked once');
      // distribution 2.8 ties each upload URL to its offset (`_state`): after a PATCH broke
      // midway its URL no longer matches what arrived, so it answers 404 and the client begins a
      // new upload. A registry that keeps the session answers 204 with the Range to resume from.
      assert.match(statusRanges[0]!, /^(204 0-\d+|404 undefined)$/);
      assert.equal(outcome.how, 'uploaded');
      assert.ok((await served(registry.host, 'u/resume', blob.digest)).equals(data));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  },
);
