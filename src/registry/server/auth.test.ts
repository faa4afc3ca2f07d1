/** Basic and bearer authentication against a real server, with an htpasswd file made by `htpasswd -B`. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { needs } from '../../util/test-requirements.js';
import { Htpasswd } from './htpasswd.js';
import { TokenKey } from './jwt.js';
import { errorCode, pushBlob, raw, startRegistry, type TestRegistry } from './testing.js';

const skip = needs('htpasswd');

let dir: string;
let file: string;
before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-auth-'));
  file = path.join(dir, 'htpasswd');
  const r = spawnSync('htpasswd', ['-cbB', file, 'alice', 's3cret'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('htpasswd (Basic)', { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth: { htpasswd: new Htpasswd(file) } });
  });
  after(() => reg?.close());

  test('GET /v2/ without credentials is 401 with a Basic challenge', async () => {
    const res = await raw(reg.url, 'GET', '/v2/');
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /^Basic realm="/);
    assert.equal(errorCode(res), 'UNAUTHORIZED');
  });

  test('anonymous push is 401; a user pushes; anonymous may pull', async () => {
    const push = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/');
    assert.equal(push.status, 401);
    assert.match(String(push.headers['www-authenticate']), /^Basic /);
    const digest = await pushBlob(reg.url, 'team/app', Buffer.from('hello'), 'sha256', {
      Authorization: basic('alice', 's3cret'),
    });
    assert.equal((await raw(reg.url, 'GET', `/v2/team/app/blobs/${digest}`)).status, 200);
  });

  test('empty Basic credentials (`:`, as skopeo --no-creds sends them) are an anonymous caller', async () => {
    const empty = { Authorization: `Basic ${Buffer.from(':').toString('base64')}` };
    const digest = await pushBlob(reg.url, 'team/empty', Buffer.from('e'), 'sha256', {
      Authorization: basic('alice', 's3cret'),
    });
    assert.equal(
      (await raw(reg.url, 'GET', `/v2/team/empty/blobs/${digest}`, { headers: empty })).status,
      200,
    );
    const push = await raw(reg.url, 'POST', '/v2/team/empty/blobs/uploads/', { headers: empty });
    assert.equal(push.status, 401);
  });

  test('a wrong password is 401', async () => {
    const res = await raw(reg.url, 'GET', '/v2/', { headers: { Authorization: basic('alice', 'nope') } });
    assert.equal(res.status, 401);
    const ok = await raw(reg.url, 'GET', '/v2/', { headers: { Authorization: basic('alice', 's3cret') } });
    assert.equal(ok.status, 200);
  });
});

describe('token issuer (Bearer)', { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth: { htpasswd: new Htpasswd(file), token: { issue: true } } });
  });
  after(() => reg?.close());

  async function token(scope: string, auth?: string): Promise<string> {
    const res = await raw(
      reg.url,
      'GET',
      `/token?service=skiff-registry&scope=${encodeURIComponent(scope)}`,
      {
        headers: auth ? { Authorization: auth } : {},
      },
    );
    assert.equal(res.status, 200, res.body.toString());
    const body = res.json<{ token: string; access_token: string; expires_in: number; issued_at: string }>();
    assert.equal(body.token, body.access_token);
    assert.ok(body.expires_in > 0 && Date.parse(body.issued_at) > 0);
    return body.token;
  }

  test('GET /v2/ without a token is 401 with a Bearer challenge naming realm and service', async () => {
    const res = await raw(reg.url, 'GET', '/v2/');
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], `Bearer realm="${reg.url}/token",service="skiff-registry"`);
  });

  test('a push without a token gets a challenge with the scope it needs', async () => {
    const res = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/');
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /scope="repository:team\/app:pull,push"/);
  });

  test('an anonymous token pulls but cannot push (401); a user token pushes; another repository is 403', async () => {
    const anon = await token('repository:team/app:pull,push');
    const denied = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/', {
      headers: { Authorization: `Bearer ${anon}` },
    });
    assert.equal(denied.status, 401);
    const user = await token('repository:team/app:pull,push', basic('alice', 's3cret'));
    const digest = await pushBlob(reg.url, 'team/app', Buffer.from('tok'), 'sha256', {
      Authorization: `Bearer ${user}`,
    });
    const pull = await raw(reg.url, 'GET', `/v2/team/app/blobs/${digest}`, {
      headers: { Authorization: `Bearer ${anon}` },
    });
    assert.equal(pull.status, 200);
    const other = await raw(reg.url, 'POST', '/v2/other/app/blobs/uploads/', {
      headers: { Authorization: `Bearer ${user}` },
    });
    assert.equal(other.status, 403);
    assert.equal(errorCode(other), 'DENIED');
  });

  test('wrong credentials at the token endpoint are 401', async () => {
    const res = await raw(reg.url, 'GET', '/token?service=skiff-registry&scope=repository:a:push', {
      headers: { Authorization: basic('alice', 'bad') },
    });
    assert.equal(res.status, 401);
  });

  test('a token signed by another key, or tampered with, is refused', async () => {
    const foreign = await new TokenKey().sign({
      iss: 'skiff-registry-token-issuer',
      sub: 'alice',
      aud: 'skiff-registry',
      exp: Date.now() / 1000 + 300,
      nbf: 0,
      iat: 0,
      jti: 'x',
      access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }],
    });
    const res = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/', {
      headers: { Authorization: `Bearer ${foreign}` },
    });
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
    const real = await token('repository:team/app:pull', basic('alice', 's3cret'));
    const [h, p, s] = real.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { access: { actions: string[] }[] };
    claims.access[0]!.actions = ['pull', 'push'];
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const res2 = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/', {
      headers: { Authorization: `Bearer ${forged}` },
    });
    assert.equal(res2.status, 401);
  });
});
