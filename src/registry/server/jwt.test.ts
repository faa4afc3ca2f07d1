/** Bearer tokens: ES256 round trip, expiry, audience, and an outside issuer's public key (--token-key). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { TokenKey, type Claims } from './jwt.js';
import { raw, startRegistry } from './testing.js';

const now = () => Math.floor(Date.now() / 1000);
const claims = (over: Partial<Claims> = {}): Claims => ({
  iss: 'issuer',
  sub: 'alice',
  aud: 'svc',
  exp: now() + 300,
  nbf: now() - 1,
  iat: now(),
  jti: 'j',
  access: [{ type: 'repository', name: 'a/b', actions: ['pull'] }],
  ...over,
});
const expect = { issuer: 'issuer', audience: 'svc' };

test('a token verifies with its key and only with matching issuer, audience and times', () => {
  const key = new TokenKey();
  assert.deepEqual(key.verify(key.sign(claims()), expect)?.access, claims().access);
  assert.equal(new TokenKey().verify(key.sign(claims()), expect), undefined);
  assert.equal(key.verify(key.sign(claims({ aud: 'other' })), expect), undefined);
  assert.equal(key.verify(key.sign(claims({ iss: 'other' })), expect), undefined);
  assert.equal(key.verify(key.sign(claims({ exp: now() - 3600 })), expect), undefined);
  assert.equal(key.verify('a.b', expect), undefined);
  const [h, p] = key.sign(claims()).split('.');
  assert.equal(key.verify(`${h}.${p}.`, expect), undefined);
  const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
  assert.equal(key.verify(`${none}.${p}.`, expect), undefined);
});

function outsideToken(privateKey: Parameters<typeof sign>[2], body: Claims): string {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  const sig = sign('sha256', Buffer.from(`${header}.${payload}`), privateKey).toString('base64url');
  return `${header}.${payload}.${sig}`;
}

test('with an outside issuer (--token-realm, --token-key) the server verifies its RS256 tokens', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const reg = await startRegistry({
    auth: {
      token: {
        issue: false,
        realm: 'https://auth.example/token',
        publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        service: 'svc',
        issuer: 'issuer',
      },
    },
  });
  try {
    const challenge = await raw(reg.url, 'GET', '/v2/');
    assert.equal(
      challenge.headers['www-authenticate'],
      'Bearer realm="https://auth.example/token",service="svc"',
    );
    assert.equal((await raw(reg.url, 'GET', '/token')).status, 404);
    const token = outsideToken(privateKey, claims());
    const ok = await raw(reg.url, 'GET', '/v2/a/b/tags/list', {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(ok.status, 404, 'authorised, and the repository is unknown');
    const push = await raw(reg.url, 'POST', '/v2/a/b/blobs/uploads/', {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(push.status, 403);
  } finally {
    await reg.close();
  }
});
