/**
 * Schemes, trust and retries: a TLS registry trusted through Docker's certs.d, plain http only
 * on loopback, and transient answers (503, 429, a dropped connection) retried.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startRegistry, type Registry } from '../../../tests/registry-client-testing.js';
import { Session } from './session.js';
import { Transport, discard, isLoopback } from './transport.js';
import { needs } from '../../util/test-requirements.js';

let tmp: string;
let tlsRegistry: Registry | undefined;
const skip = needs('docker-registry', 'openssl');

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-transport-'));
  if (!skip) tlsRegistry = await startRegistry(path.join(tmp, 'tls'), { tls: true });
});

after(async () => {
  await tlsRegistry?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('loopback names', () => {
  for (const host of ['127.0.0.1:5000', '127.3.2.1', 'localhost:80', '[::1]:5000', 'localhost'])
    assert.ok(isLoopback(host), host);
  for (const host of ['10.0.0.1:5000', 'localhost.example', 'registry.example:443', '128.0.0.1'])
    assert.ok(!isLoopback(host), host);
});

test(
  'a TLS registry is trusted through certs.d/<host:port>/ca.crt, and refused without it',
  { skip },
  async () => {
    const registry = tlsRegistry!;
    const saved = process.env['SKIFF_EXTRA_CA_CERTS'];
    process.env['SKIFF_EXTRA_CA_CERTS'] = '';
    const certsDir = path.join(tmp, 'certs.d');
    fs.mkdirSync(path.join(certsDir, registry.host), { recursive: true });
    fs.copyFileSync(registry.ca!, path.join(certsDir, registry.host, 'ca.crt'));
    const trusting = new Transport({ certsDir });
    const plain = new Transport({ certsDir: path.join(tmp, 'none') });
    try {
      const session = new Session(registry.host, { transport: trusting });
      assert.equal(await session.baseUrl(), `https://${registry.host}`);
      const refused = new Session(registry.host, { transport: plain });
      await assert.rejects(refused.baseUrl(), { message: /connect to 127\.0\.0\.1:\d+: .*certificate/ });
    } finally {
      trusting.close();
      plain.close();
      if (saved === undefined) delete process.env['SKIFF_EXTRA_CA_CERTS'];
      else process.env['SKIFF_EXTRA_CA_CERTS'] = saved;
    }
  },
);

test('plain http on loopback after https fails; 503, 429 and a dropped connection are retried', async () => {
  const failures = ['503', '429', 'drop'];
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/v2/') {
      res.writeHead(200).end('{}');
      return;
    }
    const next = failures.shift();
    if (next === 'drop') req.socket.destroy();
    else if (next !== undefined) res.writeHead(Number(next), { 'Retry-After': '0' }).end();
    else res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const transport = new Transport();
  try {
    const session = new Session(`127.0.0.1:${port}`, { transport, retryDelay: 5 });
    assert.equal(await session.baseUrl(), `http://127.0.0.1:${port}`);
    const res = await session.request([], '/v2/x/blobs/sha256:0');
    await discard(res);
    assert.equal(res.status, 200);
    assert.equal(seen.filter((s) => s.includes('/blobs/')).length, 4, 'three failures, then success');
    // A request that must not be repeated blindly (an upload chunk) is not.
    failures.push('503');
    const once = await session.request([], '/v2/x/blobs/uploads/1', { method: 'PATCH', retry: false });
    await discard(once);
    assert.equal(once.status, 503);
  } finally {
    transport.close();
    server.closeAllConnections();
    server.close();
  }
});
