/**
 * Bearer tokens: our own issuer's round trip, and an outside issuer's tokens (signed here with
 * jose, as a real issuer would) against a public key or root certificates, each refusal with
 * its reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { needs } from '../../util/test-requirements.js';
import { TokenKey, TokenVerifier, type Verified } from './jwt.js';
import {
  certificateChain,
  ecKeyPair,
  nowSeconds,
  outsideClaims,
  rsaKeyPair,
  signToken,
  tampered,
  unsignedToken,
  type Chain,
} from './testing-tokens.js';
import { TokenTrust } from './token-trust.js';

const expect = { audience: 'skiff-registry', issuer: 'auth.example' };

function rejected(result: Verified, pattern: RegExp): void {
  assert.ok('rejected' in result, `accepted: ${JSON.stringify(result)}`);
  assert.match(result.rejected, pattern);
  // A phrase of ours: nothing of jose's or Node's wording (ERR_…, "claim timestamp check").
  assert.doesNotMatch(result.rejected, /ERR_|JWS|timestamp check|TypeError/);
}

function accepted(result: Verified): { sub: string } {
  assert.ok('claims' in result, `refused: ${'rejected' in result ? result.rejected : ''}`);
  return result.claims;
}

test('our own issuer: a token verifies with its key, not with another key', async () => {
  const key = new TokenKey();
  const claims = {
    iss: 'own',
    sub: 'alice',
    aud: 'svc',
    exp: nowSeconds() + 300,
    nbf: nowSeconds() - 1,
    iat: nowSeconds(),
    jti: 'j',
    access: [{ type: 'repository', name: 'a/b', actions: ['pull'] }],
  };
  const token = await key.sign(claims);
  const verified = await key.verifier({ audience: 'svc', issuer: 'own' }).verify(token);
  assert.deepEqual('claims' in verified && verified.claims.access, claims.access);
  rejected(await new TokenKey().verifier({ audience: 'svc', issuer: 'own' }).verify(token), /signature/);
  rejected(
    await key.verifier({ audience: 'svc', issuer: 'other' }).verify(token),
    /issuer "own" is not `other`/,
  );
  const shared = new TokenKey({ privatePem: TokenKey.generatePem() });
  assert.equal(shared.kid.length, 16);
});

describe('an outside issuer with an EC key (ES256)', () => {
  const ec = ecKeyPair();
  const verifier = new TokenVerifier(TokenTrust.fromPem(ec.publicPem, 'test key'), expect);
  const sign = (claims = outsideClaims()) => signToken(ec.privateKey, 'ES256', claims);

  test('a good token is accepted; aud may be a list that contains the service', async () => {
    assert.equal(accepted(await verifier.verify(await sign())).sub, 'alice');
    accepted(await verifier.verify(await sign(outsideClaims({ aud: ['other', 'skiff-registry'] }))));
  });

  test('wrong aud, and an aud list without the service, are refused', async () => {
    rejected(
      await verifier.verify(await sign(outsideClaims({ aud: 'other' }))),
      /audience "other" does not include `skiff-registry`/,
    );
    rejected(
      await verifier.verify(await sign(outsideClaims({ aud: ['a', 'b'] }))),
      /audience \["a","b"\] does not include/,
    );
  });

  test('exp, nbf and iat hold within a 60 s leeway and not beyond', async () => {
    accepted(await verifier.verify(await sign(outsideClaims({ exp: nowSeconds() - 30 }))));
    rejected(
      await verifier.verify(await sign(outsideClaims({ exp: nowSeconds() - 120 }))),
      /expired at 20\d\d-/,
    );
    accepted(await verifier.verify(await sign(outsideClaims({ nbf: nowSeconds() + 30 }))));
    rejected(
      await verifier.verify(await sign(outsideClaims({ nbf: nowSeconds() + 600 }))),
      /not valid before/,
    );
    rejected(
      await verifier.verify(await sign(outsideClaims({ iat: nowSeconds() + 600 }))),
      /issued in the future/,
    );
    rejected(await verifier.verify(await sign(outsideClaims({ exp: undefined }))), /no `exp` claim/);
  });

  test('the issuer is checked when configured', async () => {
    rejected(
      await verifier.verify(await sign(outsideClaims({ iss: 'evil' }))),
      /issuer "evil" is not `auth.example`/,
    );
    const any = new TokenVerifier(TokenTrust.fromPem(ec.publicPem, 'k'), { audience: 'skiff-registry' });
    accepted(await any.verify(await sign(outsideClaims({ iss: 'whoever' }))));
  });

  test('RS256 against the EC key, alg none, HMAC and a tampered signature are refused', async () => {
    const rsa = rsaKeyPair();
    rejected(
      await verifier.verify(await signToken(rsa.privateKey, 'RS256', outsideClaims())),
      /signed RS256, but the issuer's key takes ES256/,
    );
    rejected(await verifier.verify(unsignedToken(outsideClaims())), /alg none/);
    // The confusion attack: the public key's PEM used as an HMAC secret.
    const hmac = await signToken(createSecretKey(Buffer.from(ec.publicPem)), 'HS256', outsideClaims());
    rejected(await verifier.verify(hmac), /HMAC token \(HS256\) is never accepted/);
    const forged = tampered(await sign(), (c) => {
      c['access'] = [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }];
    });
    rejected(await verifier.verify(forged), /signature does not verify/);
    rejected(
      await verifier.verify(await signToken(ecKeyPair().privateKey, 'ES256', outsideClaims())),
      /signature does not verify/,
    );
    rejected(await verifier.verify('not.a.token'), /not a JWT/);
    rejected(await verifier.verify(await sign(outsideClaims({ access: 'everything' }))), /access claim/);
  });
});

test('an outside issuer with an RSA key takes RS256 only', async () => {
  const rsa = rsaKeyPair();
  const verifier = new TokenVerifier(TokenTrust.fromPem(rsa.publicPem, 'k'), expect);
  accepted(await verifier.verify(await signToken(rsa.privateKey, 'RS256', outsideClaims())));
  rejected(
    await verifier.verify(await signToken(rsa.privateKey, 'PS256', outsideClaims())),
    /signed PS256, but the issuer's key takes RS256/,
  );
  rejected(
    await verifier.verify(await signToken(ecKeyPair().privateKey, 'ES256', outsideClaims())),
    /takes RS256/,
  );
});

test('a --token-key that holds no public key or certificate fails at once, naming it', () => {
  assert.throws(
    () => TokenTrust.fromPem('nothing here', 'issuer.pem'),
    /read issuer\.pem: no PUBLIC KEY or CERTIFICATE/,
  );
  const pem = ecKeyPair().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  assert.throws(() => TokenTrust.fromPem(pem, 'issuer.pem'), /a PRIVATE KEY block/);
});

describe('x5c certificate chains', { skip: needs('openssl') }, () => {
  let dir: string;
  let trusted: Chain;
  let untrusted: Chain;
  let verifier: TokenVerifier;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-x5c-'));
    trusted = certificateChain(dir, 'trusted');
    untrusted = certificateChain(dir, 'untrusted');
    // A bundle: the trusted root among others, as Docker's rootcertbundle may be.
    const other = certificateChain(dir, 'other');
    verifier = new TokenVerifier(
      TokenTrust.fromPem(`${other.rootPem}${trusted.rootPem}`, 'roots.pem'),
      expect,
    );
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a token whose x5c chain leads to the trusted root is verified with the leaf key', async () => {
    const token = await signToken(trusted.leafKey, 'ES256', outsideClaims(), { x5c: trusted.x5c });
    assert.equal(accepted(await verifier.verify(token)).sub, 'alice');
  });

  test('a leaf not signed by the trusted root, a broken chain, or a leaf that did not sign are refused', async () => {
    const foreign = await signToken(untrusted.leafKey, 'ES256', outsideClaims(), { x5c: untrusted.x5c });
    rejected(
      await verifier.verify(foreign),
      /does not lead to a trusted root .*untrusted intermediate.*untrusted root/,
    );
    const mixed = await signToken(untrusted.leafKey, 'ES256', outsideClaims(), {
      x5c: [untrusted.x5c[0]!, trusted.x5c[1]!],
    });
    rejected(await verifier.verify(mixed), /is not signed by the next one/);
    const wrongSigner = await signToken(untrusted.leafKey, 'ES256', outsideClaims(), { x5c: trusted.x5c });
    rejected(await verifier.verify(wrongSigner), /signature does not verify/);
    const garbage = await signToken(trusted.leafKey, 'ES256', outsideClaims(), { x5c: ['bm90IGEgY2VydA=='] });
    rejected(await verifier.verify(garbage), /x5c certificate 1 does not parse/);
  });

  test('with a bare public key configured, an x5c chain is refused', async () => {
    const bare = new TokenVerifier(TokenTrust.fromPem(ecKeyPair().publicPem, 'k'), expect);
    const token = await signToken(trusted.leafKey, 'ES256', outsideClaims(), { x5c: trusted.x5c });
    rejected(await bare.verify(token), /trusts a bare key, not root certificates/);
  });
});
