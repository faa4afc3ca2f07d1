/**
 * `skiff registry serve --token-realm URL --token-key PEM`: tokens of an outside issuer, signed
 * here with jose as a real issuer would (ES256 and RS256 keys, and an x5c chain from a test CA
 * made by openssl), judged through the real CLI with raw HTTP: each refusal is 401 with
 * `error="invalid_token"` and a description of our own; with `--access`, the token's scope and
 * the rules must both allow.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  errorCode,
  pushImage,
  raw,
  serveCli,
  type RawResponse,
  type ServedCli,
} from '../src/registry/server/testing.js';
import {
  certificateChain,
  ecKeyPair,
  nowSeconds,
  outsideClaims,
  rsaKeyPair,
  signToken,
  tampered,
  unsignedToken,
} from '../src/registry/server/testing-tokens.js';
import { needs } from '../src/util/test-requirements.js';
import { makeSandbox, SKIFF_BIN, type Sandbox } from './helpers.js';

const REALM = 'https://auth.example/token';

/** `registry serve` trusting `pem` (written to a file), with extra flags. */
async function serveTrusting(
  s: Sandbox,
  name: string,
  pem: string,
  extra: string[] = [],
): Promise<ServedCli> {
  const file = path.join(s.dir, `${name}.pem`);
  fs.writeFileSync(file, pem);
  return serveCli(SKIFF_BIN, path.join(s.dir, `reg-${name}`), [
    '--token-realm',
    REALM,
    '--token-key',
    file,
    '--token-iss',
    'auth.example',
    ...extra,
  ]);
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A 401 refusing the token, whose challenge says why in words of ours. */
function refusedToken(res: RawResponse, why: RegExp): void {
  assert.equal(res.status, 401, res.body.toString());
  assert.equal(errorCode(res), 'UNAUTHORIZED');
  const challenge = String(res.headers['www-authenticate']);
  assert.match(
    challenge,
    new RegExp(`^Bearer realm="${REALM}",service="skiff-registry",scope="[^"]+",error="invalid_token"`),
  );
  const description = /error_description="([^"]*)"/.exec(challenge)?.[1] ?? '';
  assert.match(description, why);
  assert.doesNotMatch(description + res.body.toString(), /ERR_|JWS|timestamp check|TypeError|at \S+\.js/);
}

describe('registry serve with an outside token issuer', () => {
  let s: Sandbox;
  let ec: ReturnType<typeof ecKeyPair>;
  let reg: ServedCli;

  before(async () => {
    s = makeSandbox('skiff-reg-outside-');
    ec = ecKeyPair();
    reg = await serveTrusting(s, 'ec', ec.publicPem);
  });
  after(async () => {
    await reg?.stop();
    s?.cleanup();
  });

  const sign = (over: Parameters<typeof outsideClaims>[0] = {}) =>
    signToken(ec.privateKey, 'ES256', outsideClaims(over));
  const tags = (token: string) => raw(reg.url, 'GET', '/v2/team/app/tags/list', { headers: bearer(token) });

  it('challenges with the outside realm, serves no token endpoint, and takes a good ES256 token', async () => {
    const challenge = await raw(reg.url, 'GET', '/v2/');
    assert.equal(challenge.status, 401);
    assert.equal(challenge.headers['www-authenticate'], `Bearer realm="${REALM}",service="skiff-registry"`);
    assert.equal((await raw(reg.url, 'GET', '/token')).status, 404);
    assert.equal((await tags(await sign())).status, 404, 'authorised; the repository is unknown');
    assert.equal((await tags(await sign({ aud: ['other', 'skiff-registry'] }))).status, 404, 'aud as a list');
    const push = await sign({ scope: 'repository:team/app:pull,push' });
    await pushImage(reg.url, 'team/app', 'v1', { headers: bearer(push) });
    assert.equal((await tags(await sign())).status, 200);
    const pullOnly = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/', {
      headers: bearer(await sign()),
    });
    assert.equal(pullOnly.status, 403, 'the token grants pull only');
  });

  it('refuses wrong aud, aud lists without the service, a wrong iss, expired tokens and tokens not yet valid', async () => {
    refusedToken(
      await tags(await sign({ aud: 'other' })),
      /audience 'other' does not include `skiff-registry`/,
    );
    refusedToken(await tags(await sign({ aud: ['a', 'b'] })), /audience \['a','b'\] does not include/);
    refusedToken(await tags(await sign({ iss: 'evil' })), /issuer 'evil' is not `auth.example`/);
    assert.equal((await tags(await sign({ exp: nowSeconds() - 20 }))).status, 200, 'within the leeway');
    refusedToken(await tags(await sign({ exp: nowSeconds() - 600 })), /the token expired at /);
    refusedToken(await tags(await sign({ nbf: nowSeconds() + 600 })), /not valid before /);
  });

  it('refuses an RS256 token against the EC key, alg none, HMAC and a tampered signature', async () => {
    refusedToken(
      await tags(await signToken(rsaKeyPair().privateKey, 'RS256', outsideClaims())),
      /signed RS256, but the issuer's key takes ES256/,
    );
    refusedToken(await tags(unsignedToken(outsideClaims())), /alg none/);
    const { createSecretKey } = await import('node:crypto');
    refusedToken(
      await tags(await signToken(createSecretKey(Buffer.from(ec.publicPem)), 'HS256', outsideClaims())),
      /HMAC token \(HS256\)/,
    );
    const forged = tampered(await sign(), (c) => {
      c['sub'] = 'mallory';
    });
    refusedToken(await tags(forged), /signature does not verify/);
  });
});

describe('an outside issuer with an RSA key and an access file', () => {
  let s: Sandbox;
  let rsa: ReturnType<typeof rsaKeyPair>;
  let reg: ServedCli;

  before(async () => {
    s = makeSandbox('skiff-reg-outside-rsa-');
    rsa = rsaKeyPair();
    const access = path.join(s.dir, 'access.yaml');
    fs.writeFileSync(
      access,
      'rules:\n  - who: [alice]\n    repositories: ["team/*"]\n    actions: [pull, push]\n  - who: ["*"]\n    repositories: ["team/*"]\n    actions: [pull]\n',
    );
    reg = await serveTrusting(s, 'rsa', rsa.publicPem, ['--access', access]);
  });
  after(async () => {
    await reg?.stop();
    s?.cleanup();
  });

  it('RS256 tokens are taken; the token scope and the access file must both allow', async () => {
    const token = (sub: string, scope: string) =>
      signToken(rsa.privateKey, 'RS256', outsideClaims({ sub, scope }));
    await pushImage(reg.url, 'team/app', 'v1', {
      headers: bearer(await token('alice', 'repository:team/app:pull,push')),
    });
    const dave = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/', {
      headers: bearer(await token('dave', 'repository:team/app:pull,push')),
    });
    assert.equal(dave.status, 403, 'the token grants push, the access file does not');
    assert.match(dave.body.toString(), /user `dave` is not allowed by the access file/);
    const alicePull = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/', {
      headers: bearer(await token('alice', 'repository:team/app:pull')),
    });
    assert.equal(alicePull.status, 403, 'the access file grants push, the token does not');
    assert.match(alicePull.body.toString(), /lacks the scope in the token/);
    const daveRead = await raw(reg.url, 'GET', '/v2/team/app/tags/list', {
      headers: bearer(await token('dave', 'repository:team/app:pull')),
    });
    assert.equal(daveRead.status, 200);
    const anonymous = await raw(reg.url, 'GET', '/v2/team/app/tags/list', {
      headers: bearer(await token('', 'repository:team/app:pull')),
    });
    assert.equal(anonymous.status, 401, 'an anonymous token is not "*"');
    const es = await raw(reg.url, 'GET', '/v2/team/app/tags/list', {
      headers: bearer(await signToken(ecKeyPair().privateKey, 'ES256', outsideClaims())),
    });
    refusedToken(es, /signed ES256, but the issuer's key takes RS256/);
  });
});

describe('an outside issuer trusted by root certificates (x5c)', { skip: needs('openssl') }, () => {
  let s: Sandbox;
  let reg: ServedCli;
  let trusted: ReturnType<typeof certificateChain>;
  let untrusted: ReturnType<typeof certificateChain>;

  before(async () => {
    s = makeSandbox('skiff-reg-outside-x5c-');
    trusted = certificateChain(s.dir, 'trusted');
    untrusted = certificateChain(s.dir, 'untrusted');
    const other = certificateChain(s.dir, 'other');
    reg = await serveTrusting(s, 'roots', `${other.rootPem}${trusted.rootPem}`);
  });
  after(async () => {
    await reg?.stop();
    s?.cleanup();
  });

  it('takes a token signed by a leaf whose chain leads to a trusted root, and refuses one that does not', async () => {
    const tags = (token: string) => raw(reg.url, 'GET', '/v2/team/app/tags/list', { headers: bearer(token) });
    const good = await signToken(trusted.leafKey, 'ES256', outsideClaims(), { x5c: trusted.x5c });
    assert.equal((await tags(good)).status, 404, 'authorised; the repository is unknown');
    const foreign = await signToken(untrusted.leafKey, 'ES256', outsideClaims(), { x5c: untrusted.x5c });
    refusedToken(await tags(foreign), /x5c chain does not lead to a trusted root/);
    const borrowed = await signToken(untrusted.leafKey, 'ES256', outsideClaims(), { x5c: trusted.x5c });
    refusedToken(await tags(borrowed), /signature does not verify/);
  });
});
